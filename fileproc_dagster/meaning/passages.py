"""A record's text as passages of about ``CHUNK_WORDS`` words, each knowing where it came from.

The place of a passage is what a reader would turn to: the page or slide (from the Markdown's
``<!-- page N -->`` and ``<!-- slide N -->`` markers, ``describe/markdown.py``) with the path
of headings above it (a workbook's sheet is its heading), or the start and end time in a
recording (from the transcript's timed segments). A passage never spans two pages, slides or
sections. Passage 0 is the record's name and description, so pictures and files without text
are found by what their description says.

Example::

    cut = passages("report.pdf", "PDF document, 2 pages",
                   markdown="<!-- page 1 -->\\n\\n# Costs\\n\\nRent went up.")
    [(p.place, p.text) for p in cut]
    # [('description', 'report.pdf: PDF document, 2 pages'), ('page 1 · Costs', 'Rent went up.')]
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

CHUNK_WORDS = 180  # about 240 tokens: within the model's 256
TIMED_WORDS = 80  # a transcript's passages are shorter, to point at the minute
MAX_PASSAGES = 300  # per record: about 54,000 words, some 200 pages
DESCRIPTION = "description"
_MARKER = re.compile(r"^<!-- (page|slide) (\d+) -->$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_RULE = re.compile(r"^[\s|:-]*$")  # a Markdown table's separator row, or nothing


@dataclass(frozen=True)
class Passage:
    """One passage: its ordinal in the record, place label, text, and the page (or slide)
    number or the seconds it covers, for links."""

    ordinal: int
    place: str
    text: str
    page: int | None = None
    start_s: float | None = None
    end_s: float | None = None


def passages(name: str | None, description: str | None, text: str | None = None,
             markdown: str | None = None,
             details: Mapping[str, Any] | None = None) -> list[Passage]:
    """The record's passages, in reading order (at most ``MAX_PASSAGES``)."""
    found: list[Passage] = []
    head = ": ".join(part.strip() for part in (name, description) if part and part.strip())
    if head:
        found.append(Passage(0, DESCRIPTION, head))
    segments = (details or {}).get("segments")
    if isinstance(segments, list) and segments:
        found.extend(_timed(segments))
    elif markdown and markdown.strip():
        found.extend(_structured(markdown))
    elif text and text.strip():
        found.extend(Passage(0, f"words {start + 1}–{start + len(window)}", " ".join(window))
                     for start, window in _windows(text.split()))
    return [Passage(i, p.place, p.text, p.page, p.start_s, p.end_s)
            for i, p in enumerate(found[:MAX_PASSAGES])]


def clock(seconds: float) -> str:
    """Seconds as ``m:ss`` (``h:mm:ss`` past an hour)."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return (f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours
            else f"{rest // 60}:{rest % 60:02d}")


def _windows(words: list[str], size: int = CHUNK_WORDS) -> Iterator[tuple[int, list[str]]]:
    for start in range(0, len(words), size):
        yield start, words[start:start + size]


def _timed(segments: list[Any]) -> Iterator[Passage]:
    words: list[str] = []
    start = end = 0.0
    for segment in segments:
        if not isinstance(segment, Mapping):
            continue
        if not words:
            start = float(segment.get("start") or 0.0)
        end = float(segment.get("end") or start)
        words.extend(str(segment.get("text") or "").split())
        if len(words) >= TIMED_WORDS:
            yield Passage(0, f"{clock(start)}–{clock(end)}", " ".join(words), None, start, end)
            words = []
    if words:
        yield Passage(0, f"{clock(start)}–{clock(end)}", " ".join(words), None, start, end)


def _structured(markdown: str) -> Iterator[Passage]:
    unit: tuple[str, int] | None = None  # ("page" | "slide", number)
    headings: list[tuple[int, str]] = []
    words: list[str] = []
    place, page = "", None

    def flush() -> Iterator[Passage]:
        if words:
            yield Passage(0, place, " ".join(words), page)
            words.clear()

    def where() -> tuple[str, int | None]:
        parts = [f"{unit[0]} {unit[1]}"] if unit else []
        if headings:
            parts.append(" › ".join(title for _, title in headings))
        return " · ".join(parts), unit[1] if unit else None

    for line in markdown.splitlines():
        marker, heading = _MARKER.match(line.strip()), _HEADING.match(line)
        if marker or heading:
            yield from flush()
            if marker:
                unit = (marker.group(1), int(marker.group(2)))
                if unit[0] == "slide":
                    headings = []
            elif heading:
                level = len(heading.group(1))
                headings = [h for h in headings if h[0] < level] + [(level, heading.group(2))]
            place, page = where()
            continue
        if not line.strip():
            if len(words) >= CHUNK_WORDS * 3 // 4:
                yield from flush()
            continue
        if line.startswith("<!--") or _RULE.match(line):
            continue
        for word in line.replace("|", " ").split():
            words.append(word)
            if len(words) >= CHUNK_WORDS:
                yield from flush()
    yield from flush()
