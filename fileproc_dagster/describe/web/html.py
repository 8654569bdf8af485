"""Web pages (HTML and XHTML): the main text without menus, navigation and footers.

trafilatura (Apache-2.0, lxml) finds the main content and keeps its headings, lists and
tables; a page too small or too odd for it is read as all its visible text instead. Nothing
is fetched: the page's links, images, scripts and styles are never followed or run.

Example::

    from pathlib import Path
    from fileproc_dagster.describe.model import ExtractOptions
    from fileproc_dagster.describe.web.html import describe_html

    page = describe_html(Path("page.html"), "text/html", ExtractOptions())
    page.details["properties"]["title"], page.markdown.splitlines()[0]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fileproc_dagster.describe.model import Description, ExtractOptions, Table
from fileproc_dagster.describe.web.common import read_capped, summarise
from fileproc_dagster.errors import BadInput

_LANG = re.compile(
    rb"<html\b[^>]*?\b(?:xml:)?lang\s*=\s*[\"']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)",
    re.IGNORECASE)


@dataclass(frozen=True)
class Page:
    """What was read from one HTML document."""

    text: str
    markdown: str
    tables: tuple[Table, ...] = ()
    properties: dict[str, Any] = field(default_factory=dict)
    source: str = "main content"  # or "visible text" when no main content was found


def describe_html(path: Path, mime: str, options: ExtractOptions) -> Description:
    """A web page's main text, as plain text and as Markdown, with its tables and title."""
    page = read_page(read_capped(path, "web page"))
    return summarise("Web page", mime, page.text, markdown=page.markdown, tables=page.tables,
                     properties=page.properties, source=page.source)


def read_page(data: bytes, *, main_content: bool = True) -> Page:
    """The main content of an HTML document's bytes (encoding detected from the page)."""
    import trafilatura
    from trafilatura.xml import xmltotxt

    if b"\x00" in data[:4096] and data.count(b"\x00") > len(data) // 100:
        raise BadInput("not a web page: it holds binary data")
    properties: dict[str, Any] = {}
    found = _LANG.search(data[:65536])
    if found:
        properties["language"] = found.group(1).decode("ascii").replace("_", "-").lower()
    try:
        document: Any = trafilatura.bare_extraction(
            data, with_metadata=True, include_tables=True, include_formatting=True,
            include_comments=False, include_links=False, include_images=False,
            favor_recall=not main_content, deduplicate=False,
            # Dates from the page's markup only: a guess from its text (a copyright line, a
            # build date) is too often wrong to be called the page's date.
            date_extraction_params={"extensive_search": False, "original_date": True})
    except RecursionError as exc:
        raise BadInput("web page is nested too deeply to read") from exc
    if document is not None and document.text and document.text.strip():
        properties.update(title=document.title, author=document.author,
                          created=document.date)
        if document.description:
            properties["subject"] = document.description
        markdown = xmltotxt(document.body, include_formatting=True).strip()
        text = xmltotxt(document.body, include_formatting=False).strip()
        return Page(text, markdown, _tables(document.body), _found(properties))
    # Too little for main-content detection (a short notice, a page of one paragraph): all of
    # its visible text, scripts and styles left out.
    text = (trafilatura.html2txt(data) or "").strip()
    if document is not None:
        properties["title"] = document.title
    return Page(text, text, (), _found(properties), source="visible text")


def _tables(body: Any) -> tuple[Table, ...]:
    tables = []
    for number, table in enumerate(body.iter("table"), start=1):
        rows = [[" ".join("".join(cell.itertext()).split()) for cell in row.iter("cell")]
                for row in table.iter("row")]
        rows = [row for row in rows if any(row)]
        if rows:
            tables.append(Table(f"Table {number}", rows))
    return tuple(tables)


def _found(properties: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in properties.items() if v}
