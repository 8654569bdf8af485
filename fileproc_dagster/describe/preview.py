"""A short preview of one file for a person: a tiny picture, its size, first lines, identity.

Dagster's UI shows markdown metadata shorter than 1,000 characters inline and hides longer
ones behind a click, so the preview is fitted to that budget: a WebP thumbnail of a few
hundred bytes as a data URI (the largest that fits ``IMAGE_BUDGET``), then the facts, the
document's first heading, the first lines of text and the first rows of its first table, cut
to what is left. Notebooks can show the same markdown.

Example::

    image = preview_image(description.thumbnail)          # 'data:image/webp;base64,...'
    preview_markdown("scan.png", "document", "done", uuid, text, details, image)
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fileproc_dagster.describe.markdown import first_heading

INLINE_LIMIT = 999  # Dagster shows markdown inline below 1,000 characters
IMAGE_BUDGET = 560  # characters of the data URI, leaving room for the text
_SIDES = (112, 96, 80, 64, 48, 32)
_QUALITIES = (45, 25)
_LINES = 3
_LINE_CHARS = 80
_TABLE_ROWS = 3  # below the header
_TABLE_COLUMNS = 4
_CELL_CHARS = 20
# A table as the records keep it: its name and rows of cell texts, the first the header.
TableRows = tuple[str, Sequence[Sequence[str]]]
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")


def preview_image(png: bytes | None, budget: int = IMAGE_BUDGET) -> str | None:
    """The largest small WebP of a thumbnail whose data URI fits ``budget`` characters."""
    if not png:
        return None
    from PIL import Image  # here: the code location shows previews without Pillow

    with Image.open(io.BytesIO(png)) as image:
        frame = image.convert("RGB")
    for side in _SIDES:
        small = frame.copy()
        small.thumbnail((side, side), Image.Resampling.LANCZOS)
        for quality in _QUALITIES:
            buffer = io.BytesIO()
            small.save(buffer, "WEBP", quality=quality, method=6)
            uri = "data:image/webp;base64," + base64.b64encode(buffer.getvalue()).decode()
            if len(uri) <= budget:
                return uri
    return None


def escape(text: str) -> str:
    """Text shown as itself in markdown: no links, images, emphasis or HTML from a file."""
    return _MARKDOWN.sub(r"\\\1", " ".join(text.split()))


def size_fact(kind: str, details: Mapping[str, Any]) -> str:
    """Page count, duration or dimensions: how big the file is, in its own unit."""
    if "pages" in details:
        pages = int(details["pages"])
        return f"{pages} page{'' if pages == 1 else 's'}"
    if "duration_s" in details and "width" in details:  # a video
        return f"{clock(float(details['duration_s']))}, {details['width']}×{details['height']} px"
    if "duration_s" in details:
        return clock(float(details["duration_s"]))
    if "display_width" in details:
        return f"{details['display_width']}×{details['display_height']} px"
    return kind


def clock(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` past an hour) of a time in a recording."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def first_lines(text: str, details: Mapping[str, Any], count: int = _LINES,
                width: int = _LINE_CHARS) -> list[str]:
    """The first lines of the text, or of the transcript with the time each starts."""
    segments = details.get("segments") or []
    if segments:
        return [f"`{clock(float(s['start']))}` {escape(_cut(str(s['text']), width))}"
                for s in segments[:count] if str(s.get("text", "")).strip()]
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return [escape(_cut(line, width)) for line in lines[:count]]


def _cut(line: str, width: int) -> str:
    line = " ".join(line.split())
    return line if len(line) <= width else line[:width - 1].rstrip() + "…"


def _title(name: str, kind: str, state: str, details: Mapping[str, Any]) -> str:
    return f"**{escape(_cut(name, 60))}** · {kind}, {size_fact(kind, details)} · state **{state}**"


def table_markdown(rows: Sequence[Sequence[str]], count: int = _TABLE_ROWS,
                   columns: int = _TABLE_COLUMNS, width: int = _CELL_CHARS) -> list[str]:
    """The header and first ``count`` rows of a table as Markdown table lines, its cells
    escaped and cut, at most ``columns`` columns (a last ``…`` one says there are more)."""
    if not rows or not any(str(c).strip() for c in rows[0]):
        return []
    wide = max(len(row) for row in rows[:count + 1])
    more = wide > columns

    def line(row: Sequence[str]) -> str:
        cells = [escape(_cut(str(c), width)) for c in list(row)[:columns]]
        cells += [""] * (min(wide, columns) - len(cells))
        return "| " + " | ".join([*cells, *(["…"] if more else [])]) + " |"

    rule = "|" + "|".join(["---"] * (min(wide, columns) + more)) + "|"
    return [line(rows[0]), rule, *(line(row) for row in rows[1:count + 1])]


def preview_markdown(name: str, kind: str | None, state: str, record_id: str, text: str | None,
                     details: Mapping[str, Any] | None, image: str | None,
                     limit: int = INLINE_LIMIT, *, markdown: str | None = None,
                     tables: Sequence[TableRows] = ()) -> str:
    """One markdown block: picture, name and size, state, first heading, first lines, first
    rows of the first table, record id.

    Lines of text are dropped from the end (then cut) until the whole fits ``limit``, then the
    table's rows, the heading and the picture.
    """
    heading = first_heading(markdown or "")
    table = table_markdown(tables[0][1]) if tables else []
    if heading is None and not table:
        return _plain(name, kind, state, record_id, text, details, image, limit)
    details = details or {}
    kind = kind or "file"
    head = [f"![preview]({image})"] if image else []
    title = _title(name, kind, state, details)
    shown = f"### {escape(_cut(heading, 70))}" if heading else None
    lines = [line for line in first_lines(text or "", details)
             if heading is None or line != escape(_cut(heading, _LINE_CHARS))] or ["_no text_"]
    caption = f"_{escape(_cut(tables[0][0], 40))}:_" if tables and tables[0][0] else None
    tail = f"record `{record_id}`"
    while True:
        blocks = [*head, title, *([shown] if shown else []), "  \n".join(lines),
                  *([caption] if caption and table else []),
                  *(["\n".join(table)] if table else []), tail]
        result = "\n\n".join(b for b in blocks if b)
        if len(result) <= limit:
            return result
        if len(lines) > 1:
            lines = lines[:-1]
        elif len(table) > 3:
            table = table[:-1]
        elif lines:
            lines = []
        elif table:
            table = []
        elif shown:
            shown = None
        elif head:
            head = []
        else:
            return result[:limit]


def _plain(name: str, kind: str | None, state: str, record_id: str, text: str | None,
           details: Mapping[str, Any] | None, image: str | None, limit: int) -> str:
    """The preview of a file without structure: picture, then one paragraph."""
    details = details or {}
    kind = kind or "file"
    head = [f"![preview]({image})"] if image else []
    title = _title(name, kind, state, details)
    tail = f"record `{record_id}`"
    lines = first_lines(text or "", details) or ["_no text_"]
    while True:
        markdown = "\n\n".join([*head, "  \n".join([title, *lines, tail])])
        if len(markdown) <= limit or not (lines or head):
            return markdown[:limit]
        if not lines:  # only a picture over budget can get here
            head = []
        elif len(lines) > 1:
            lines = lines[:-1]
        elif len(lines[0]) > 24:
            lines = [lines[0][:len(lines[0]) // 2].rstrip("\\") + "…"]
        else:
            lines = []
