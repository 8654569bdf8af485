"""Word .docx files: the body in order (headings, lists, tables), comments, headers and
footers kept apart, and the document's properties.

Example::

    from fileproc_dagster.describe.office.word import describe_docx

    result = describe_docx(Path("minutes.docx"), DOCX_MIME, ExtractOptions())
    result.markdown  # '# Minutes\\n\\n- apologies from ...\\n\\n| Item | Owner |\\n| --- | ...'
    result.details["comments"]  # [{'author': 'Ann', 'text': 'Check the date'}]
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from fileproc_dagster.describe.model import Description, ExtractOptions, Table
from fileproc_dagster.describe.office.package import (
    markdown_table,
    ooxml_properties,
    open_package,
    summarise,
    table_text,
)
from fileproc_dagster.errors import BadInput

LABEL = "Word document"
_HEADING = re.compile(r"heading (\d)", re.IGNORECASE)
_LIST_ITEM = re.compile(r"\s*(-|1\.) ")
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def describe_docx(path: Path, mime: str, options: ExtractOptions) -> Description:
    """A Word document's body as text and Markdown, its tables, comments and properties."""
    with open_package(path, LABEL) as archive:
        properties = ooxml_properties(archive, LABEL)
        pages = _layout_pages(archive)
    import docx

    try:
        document = docx.Document(str(path))
        body = _Body(document)
        blocks = [body.block(item) for item in document.iter_inner_content()]
        comments = _comments(document)
        headers, footers = _headers_footers(document)
    except BadInput:
        raise
    except Exception as exc:  # python-docx and lxml raise many types for a damaged package
        raise BadInput(f"not a readable Word document (damaged .docx): {exc}") from exc
    text_blocks = [t for t, _ in blocks if t] + [c["text"] for c in comments] + headers + footers
    markdown = _join([m for _, m in blocks if m])
    extra: dict[str, Any] = {"comments": comments, "headers": headers, "footers": footers}
    return summarise("Word document", mime, "\n".join(text_blocks), markdown,
                     counts={"pages": pages}, tables=tuple(body.tables),
                     properties=properties, **extra)


def _join(blocks: list[str]) -> str:
    """Markdown blocks apart by blank lines, a list's items kept together."""
    out = ""
    for block in blocks:
        together = _LIST_ITEM.match(block) and _LIST_ITEM.match(out.rsplit("\n", 1)[-1])
        out += ("\n" if together else "\n\n" if out else "") + block
    return out


class _Body:
    """Turns the body's paragraphs and tables into (text, Markdown) blocks, keeping tables."""

    def __init__(self, document: Any) -> None:
        self.tables: list[Table] = []
        self._numbered = _numbered_lists(document)

    def block(self, item: Any) -> tuple[str, str]:
        if hasattr(item, "rows"):
            rows = _table_rows(item)
            if not rows:
                return "", ""
            self.tables.append(Table(f"Table {len(self.tables) + 1}", rows))
            return table_text(rows), markdown_table(rows)
        text = item.text.strip()
        if not text:
            return "", ""
        style = (item.style.name if item.style is not None else "") or ""
        heading = _HEADING.fullmatch(style)
        if heading or style == "Title":
            return text, "#" * (int(heading.group(1)) if heading else 1) + " " + text
        level, num_id = _list_level(item)
        if level is not None or style.startswith("List"):
            indent = "  " * (level or 0)
            numbered = (num_id, level or 0) in self._numbered or "Number" in style
            return text, f"{indent}{'1.' if numbered else '-'} {text}"
        return text, text


def _list_level(paragraph: Any) -> tuple[int | None, str]:
    properties = paragraph._p.pPr
    numbering = properties.numPr if properties is not None else None
    if numbering is None or numbering.numId is None:
        return None, ""
    level = numbering.ilvl.val if numbering.ilvl is not None else 0
    return int(level), str(numbering.numId.val)


def _numbered_lists(document: Any) -> set[tuple[str, int]]:
    """(list id, level) pairs whose numbers are digits or letters rather than bullets."""
    try:
        numbering = document.part.numbering_part.element
    except (KeyError, NotImplementedError, AttributeError):
        return set()
    formats: dict[str, dict[int, str]] = {}
    for abstract in numbering.findall(f"{_W}abstractNum"):
        levels = {int(lvl.get(f"{_W}ilvl", "0")): (lvl.find(f"{_W}numFmt").get(f"{_W}val", "")
                                                   if lvl.find(f"{_W}numFmt") is not None else "")
                  for lvl in abstract.findall(f"{_W}lvl")}
        formats[abstract.get(f"{_W}abstractNumId", "")] = levels
    numbered: set[tuple[str, int]] = set()
    for num in numbering.findall(f"{_W}num"):
        abstract_id = num.find(f"{_W}abstractNumId")
        if abstract_id is None:
            continue
        for level, fmt in formats.get(abstract_id.get(f"{_W}val", ""), {}).items():
            if fmt not in ("bullet", "none", ""):
                numbered.add((num.get(f"{_W}numId", ""), level))
    return numbered


def _table_rows(table: Any) -> list[list[str]]:
    rows: list[list[str]] = []
    for row in table.rows:
        cells: list[str] = []
        seen: list[Any] = []
        for cell in row.cells:
            if any(cell._tc is other for other in seen):  # a merged cell, once per grid column
                continue
            seen.append(cell._tc)
            cells.append(_cell_text(cell._tc))
        if any(cells):
            rows.append(cells)
    return rows


def _cell_text(cell: Any) -> str:
    """A cell's paragraphs, those of tables nested in it included (python-docx skips them)."""
    return " ".join(" ".join(_paragraph_texts(cell)).split())


def _paragraph_texts(element: Any) -> list[str]:
    """The text of every paragraph under an element, at any depth, empty ones left out."""
    texts = ("".join(t.text or "" for t in p.iter(f"{_W}t")).strip()
             for p in element.iter(f"{_W}p"))
    return [t for t in texts if t]


def _comments(document: Any) -> list[dict[str, str]]:
    try:
        found = list(document.comments)
    except (KeyError, AttributeError, NotImplementedError):
        return []
    return [{"author": c.author or "", "text": c.text.strip()} for c in found if c.text.strip()]


def _headers_footers(document: Any) -> tuple[list[str], list[str]]:
    headers: list[str] = []
    footers: list[str] = []
    for section in document.sections:
        for found, parts in ((headers, ("header", "first_page_header", "even_page_header")),
                             (footers, ("footer", "first_page_footer", "even_page_footer"))):
            for name in parts:
                part = getattr(section, name)
                if part.is_linked_to_previous:
                    continue
                text = "\n".join(_paragraph_texts(part._element))  # tables in it too
                if text and text not in found:
                    found.append(text)
    return headers, footers


def _layout_pages(archive: zipfile.ZipFile) -> int:
    """Pages as Word last laid them out (docProps/app.xml), at least 1 + explicit breaks."""
    # Files written by tools rather than Word keep a template's stale count, hence the floor.
    names = set(archive.namelist())
    saved = breaks = 0
    if "docProps/app.xml" in names:
        found = re.search(rb"<Pages>(\d+)</Pages>", archive.read("docProps/app.xml"))
        saved = int(found.group(1)) if found else 0
    if "word/document.xml" in names:
        breaks = len(re.findall(rb"<w:br [^>]*w:type=\"page\"", archive.read("word/document.xml")))
    return max(saved, 1 + breaks)
