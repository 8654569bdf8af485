"""One record as a notebook shows it: thumbnail, facts, text excerpt and timed transcript."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pandas as pd

from fileproc_dagster.storage.fields import properties as document_properties
from fileproc_dagster.storage.files import Record
from fileproc_dagster.storage.structure import rows_of

EXCERPT_CHARS = 800
SHOWN_SEGMENTS = 40
_FACTS = ("pages", "words", "duration_s", "language", "width", "height", "extraction_seconds")


def clock(seconds: float) -> str:
    """``83.5`` -> ``"1:23.5"``."""
    minutes, rest = divmod(max(0.0, float(seconds)), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def local_bytes(location: str | None) -> bytes | None:
    """The bytes behind a ``file://`` location, or None (another scheme, or gone)."""
    if not location or urlsplit(location).scheme != "file":
        return None
    try:
        return Path(unquote(urlsplit(location).path)).read_bytes()
    except OSError:
        return None


@dataclass(frozen=True)
class RecordView:
    """A record with a rich notebook display; every field of ``Record`` reads through.

    Example::

        view = fp.record("letter_8781-4aad360a2c10")
        view              # thumbnail, facts, the first lines of text, transcript with times
        view.segments     # the transcript's segments as a DataFrame (audio)
        view.markdown     # the text with its headings, lists, tables and page breaks
        view.tables()[0]  # the first table found, as a DataFrame (its first row the header)
    """

    record: Record

    def __getattr__(self, name: str) -> Any:
        return getattr(self.record, name)

    @property
    def details(self) -> dict[str, Any]:
        return self.record.details or {}

    @property
    def markdown(self) -> str:
        """The text with its structure (headings, lists, tables, ``<!-- page N -->`` breaks);
        empty when the file has none. Capped: ``details["structure_cut"]`` says what was cut."""
        return self.record.markdown or ""

    @property
    def properties(self) -> dict[str, Any]:
        """The document's own properties: title, author, created, modified, language..."""
        return document_properties(self.record)

    def tables(self) -> list[pd.DataFrame]:
        """The tables found (sheets, tables of a page), one DataFrame each, its first row the
        header and every cell a string; ``frame.attrs["name"]`` is the table's name.

        Example::

            sheet = fp.record(key).tables()[0]
            sheet.attrs["name"], sheet.columns.tolist()
        """
        return [_frame(name, rows) for name, rows in rows_of(self.record.tables)]

    @property
    def segments(self) -> pd.DataFrame:
        """Timed transcript segments (start and end in seconds, text); empty when none."""
        rows = [{"start": s.get("start"), "end": s.get("end"), "text": s.get("text", "")}
                for s in self.details.get("segments") or [] if isinstance(s, dict)]
        return pd.DataFrame(rows, columns=["start", "end", "text"]).astype(
            {"start": "Float64", "end": "Float64", "text": "string"})

    @property
    def thumbnail(self) -> bytes | None:
        """The PNG thumbnail's bytes when it is in the local store."""
        return local_bytes(self.details.get("thumbnail"))

    def __repr__(self) -> str:
        r = self.record
        return f"<record {r.key} {r.type or '-'} {r.state}: {r.description or r.error or ''}>"

    def _repr_html_(self) -> str:
        r = self.record
        facts = [("state", str(r.state)), ("type", r.type or "-"), ("key", r.key),
                 ("uuid", r.uuid), ("size", f"{r.size:,} bytes")]
        if r.text is not None:
            facts.append(("words", str(len(r.text.split()))))
        facts += [(name, str(self.details[name])) for name in _FACTS
                  if name != "words" and self.details.get(name) not in (None, "")]
        facts += [(name, str(value)) for name, value in self.properties.items()
                  if isinstance(value, int | float | str) and value != ""]
        if r.tables:
            facts.append(("tables", ", ".join(f"{name} ({len(rows)} rows)"
                                              for name, rows in rows_of(r.tables))))
        facts.append(("location", r.location or "-"))
        table = "".join(f"<tr><th style='text-align:left'>{escape(k)}</th>"
                        f"<td style='text-align:left;word-break:break-all'>{escape(v)}</td></tr>"
                        for k, v in facts)
        parts = [f"<h4 style='margin:0 0 .4em'>{escape(r.name)}</h4>",
                 "<div style='display:flex;gap:1em;align-items:flex-start'>",
                 self._thumbnail_html(), f"<table>{table}</table></div>"]
        if r.description:
            parts.append(f"<p><b>{escape(r.description)}</b></p>")
        if r.error:
            parts.append(f"<p style='color:#b00'>{escape(r.error)}</p>")
        parts.append(self._segments_html() or self._excerpt_html())
        return f"<div class='fileproc-record'>{''.join(parts)}</div>"

    def _thumbnail_html(self) -> str:
        data = self.thumbnail
        if data is not None:
            encoded = base64.b64encode(data).decode("ascii")
            return (f"<img src='data:image/png;base64,{encoded}' alt='thumbnail' "
                    f"style='max-width:240px;max-height:240px;border:1px solid #ccc'>")
        where = self.details.get("thumbnail")
        return f"<div><small>thumbnail: {escape(str(where))}</small></div>" if where else ""

    def _excerpt_html(self) -> str:
        text = (self.record.text or "").strip()
        if not text:
            return ""
        more = len(text) - EXCERPT_CHARS
        tail = f"\n… ({more:,} more characters)" if more > 0 else ""
        return (f"<pre style='white-space:pre-wrap;max-height:20em;overflow:auto'>"
                f"{escape(text[:EXCERPT_CHARS])}{escape(tail)}</pre>")

    def _segments_html(self) -> str:
        segments = self.segments
        if segments.empty:
            return ""
        rows = "".join(
            f"<tr><td style='text-align:left;white-space:nowrap'>{clock(s.start)} – "
            f"{clock(s.end)}</td><td style='text-align:left'>{escape(str(s.text))}</td></tr>"
            for s in segments.head(SHOWN_SEGMENTS).itertuples())
        more = len(segments) - SHOWN_SEGMENTS
        tail = f"<p><small>… {more} more segments</small></p>" if more > 0 else ""
        return f"<table><tr><th>time</th><th>transcript</th></tr>{rows}</table>{tail}"


def _frame(name: str, rows: list[list[str]]) -> pd.DataFrame:
    """A table's rows as a DataFrame: the first row the header (blank or repeated names made
    unique), short rows padded with empty cells."""
    width = max((len(row) for row in rows), default=0)
    padded = [row + [""] * (width - len(row)) for row in rows]
    header: list[str] = []
    for index, cell in enumerate(padded[0] if padded else []):
        label = cell.strip() or f"column {index + 1}"
        while label in header:
            label += "'"
        header.append(label)
    frame = pd.DataFrame(padded[1:], columns=header, dtype="string")
    frame.attrs["name"] = name
    return frame
