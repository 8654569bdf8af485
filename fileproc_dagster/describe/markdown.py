"""The Markdown of a document, as the readers write it and the previews read it.

Page boundaries: every page of a paged document (a PDF, a scanned page or a multi-page TIFF)
starts with an HTML comment ``<!-- page N -->`` on a line of its own, page 1 included. A
comment renders as nothing, cannot be confused with a heading or a rule, and splits the text
back into pages with one regular expression (``PAGE_MARKER``).

Example::

    paged(["First page", "Second page"])
    # '<!-- page 1 -->\\n\\nFirst page\\n\\n<!-- page 2 -->\\n\\nSecond page'
    first_heading("<!-- page 1 -->\\n\\n# Annual report\\n\\ntext")  # 'Annual report'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

PAGE_MARKER = re.compile(r"^<!-- page (\d+) -->$", re.M)
_ATX = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}=+[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def page_marker(number: int) -> str:
    """The line that starts page ``number`` (from 1)."""
    return f"<!-- page {number} -->"


def paged(pages: Sequence[str]) -> str:
    """Pages' texts as one Markdown text, each page after its marker (empty pages keep one)."""
    parts = []
    for number, text in enumerate(pages, start=1):
        body = text.strip("\n")
        parts.append(f"{page_marker(number)}\n\n{body}" if body.strip() else page_marker(number))
    return "\n\n".join(parts)


def first_heading(markdown: str) -> str | None:
    """The text of the first heading (``# ...`` or underlined with ``===``), outside code."""
    fenced = False
    previous = ""
    for line in markdown.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            previous = ""
            continue
        if fenced:
            continue
        found = _ATX.match(line)
        if found:
            return found.group(1).strip()
        if _SETEXT.match(line) and previous.strip() and not previous.startswith("<!--"):
            return previous.strip()
        previous = line
    return None
