"""A short preview of one file for a person: a tiny picture, its size, first lines, identity.

Dagster's UI shows markdown metadata shorter than 1,000 characters inline and hides longer
ones behind a click, so the preview is fitted to that budget: a WebP thumbnail of a few
hundred bytes as a data URI (the largest that fits ``IMAGE_BUDGET``), then the facts and the
first lines of text, cut to what is left. Notebooks can show the same markdown.

Example::

    image = preview_image(description.thumbnail)          # 'data:image/webp;base64,...'
    preview_markdown("scan.png", "document", "done", uuid, text, details, image)
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Mapping
from typing import Any

INLINE_LIMIT = 999  # Dagster shows markdown inline below 1,000 characters
IMAGE_BUDGET = 560  # characters of the data URI, leaving room for the text
_SIDES = (112, 96, 80, 64, 48, 32)
_QUALITIES = (45, 25)
_LINES = 3
_LINE_CHARS = 80
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


def preview_markdown(name: str, kind: str | None, state: str, record_id: str, text: str | None,
                     details: Mapping[str, Any] | None, image: str | None,
                     limit: int = INLINE_LIMIT) -> str:
    """One markdown block: picture, name and size, state, first lines, record id.

    Lines of text are dropped from the end (then cut) until the whole fits ``limit``.
    """
    details = details or {}
    kind = kind or "file"
    head = [f"![preview]({image})"] if image else []
    title = f"**{escape(_cut(name, 60))}** · {kind}, {size_fact(kind, details)} · state **{state}**"
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
