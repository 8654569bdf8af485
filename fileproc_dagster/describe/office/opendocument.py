"""OpenDocument text and presentations (.odt, .odp), parsed from their XML with entities
refused (defusedxml): headings, lists, tables, slides with their notes, and properties.

Example::

    from fileproc_dagster.describe.office.opendocument import describe_odf

    describe_odf(Path("agenda.odt"), ODT_MIME, ExtractOptions()).markdown
    # '# Agenda\\n\\n- Minutes of the last meeting\\n\\n| Item | Lead |\\n| --- | --- |...'
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from fileproc_dagster.describe.model import Description, ExtractOptions, Table
from fileproc_dagster.describe.office.package import (
    markdown_table,
    open_package,
    read_xml,
    summarise,
    table_text,
)
from fileproc_dagster.errors import BadInput

TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
DRAW = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
PRESENTATION = "{urn:oasis:names:tc:opendocument:xmlns:presentation:1.0}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_META = "{urn:oasis:names:tc:opendocument:xmlns:meta:1.0}"
_PROPERTIES = {"title": f"{_DC}title", "author": f"{_META}initial-creator",
               "subject": f"{_DC}subject", "created": f"{_META}creation-date",
               "modified": f"{_DC}date", "language": f"{_DC}language",
               "producer": f"{_META}generator"}
_MAX_REPEAT = 1_000  # table:number-rows/columns-repeated kept as text at most this often


def describe_odf(path: Path, mime: str, options: ExtractOptions) -> Description:
    """An OpenDocument text or presentation as text, Markdown and tables."""
    presentation = mime.endswith("presentation")
    label = "OpenDocument presentation" if presentation else "OpenDocument text"
    with open_package(path, label) as archive:
        content = read_xml(archive, "content.xml", label)
        properties = odf_properties(archive, label)
    if content is None:
        raise BadInput(f"not a readable {label}: it has no content.xml")
    body = content.find(f"{OFFICE}body")
    if body is None:
        raise BadInput(f"not a readable {label}: content.xml has no body")
    walker = _Walker()
    if presentation:
        slides = body.findall(f"{OFFICE}presentation/{DRAW}page")
        blocks = [walker.slide(number, page) for number, page in enumerate(slides, start=1)]
        counts = {"slides": len(slides)}
    else:
        text_body = body.find(f"{OFFICE}text")
        blocks = [walker.block(child) for child in (text_body if text_body is not None else [])]
        counts = {}
    text = "\n".join(t for t, _ in blocks if t)
    markdown = "\n\n".join(m for _, m in blocks if m)
    return summarise(label, mime, text, markdown, counts=counts, tables=tuple(walker.tables),
                     properties=properties)


def odf_properties(archive: zipfile.ZipFile, label: str) -> dict[str, str]:
    """Title, author, subject, dates, language and producer from meta.xml."""
    meta = read_xml(archive, "meta.xml", label)
    found: dict[str, str] = {}
    holder = meta.find(f"{OFFICE}meta") if meta is not None else None
    if holder is None:
        return found
    for key, tag in _PROPERTIES.items():
        element = holder.find(tag)
        if key == "author" and element is None:
            element = holder.find(f"{_DC}creator")
        if element is not None and (element.text or "").strip():
            found[key] = element.text.strip()
    return found


class _Walker:
    def __init__(self) -> None:
        self.tables: list[Table] = []

    def block(self, element: Any, depth: int = 0) -> tuple[str, str]:
        tag = element.tag
        if tag == f"{TEXT}h":
            text = inline(element)
            level = int(element.get(f"{TEXT}outline-level", "1") or 1)
            return (text, "#" * min(max(level, 1), 6) + " " + text) if text else ("", "")
        if tag == f"{TEXT}p":
            text = inline(element)
            return text, text
        if tag == f"{TEXT}list":
            items = [self._item(item, depth) for item in element.findall(f"{TEXT}list-item")]
            return ("\n".join(t for t, _ in items if t), "\n".join(m for _, m in items if m))
        if tag == f"{TABLE}table":
            rows = _rows(element)
            if not rows:
                return "", ""
            name = element.get(f"{TABLE}name") or f"Table {len(self.tables) + 1}"
            self.tables.append(Table(name, rows))
            return table_text(rows), markdown_table(rows)
        if tag in (f"{TEXT}section", f"{DRAW}frame", f"{DRAW}text-box", f"{DRAW}custom-shape",
                   f"{DRAW}g"):
            found = [self.block(child, depth) for child in element]
            return ("\n".join(t for t, _ in found if t), "\n\n".join(m for _, m in found if m))
        return "", ""

    def _item(self, item: Any, depth: int) -> tuple[str, str]:
        texts: list[str] = []
        marks: list[str] = []
        for child in item:
            text, mark = self.block(child, depth + 1)
            if not text:
                continue
            texts.append(text)
            nested = child.tag == f"{TEXT}list"
            marks.append(mark if nested else "  " * depth + "- " + mark)
        return "\n".join(texts), "\n".join(marks)

    def _shape(self, shape: Any) -> tuple[str, str]:
        text, markdown = self.block(shape)
        if text and shape.get(f"{PRESENTATION}class") == "title":
            return text, "# " + " ".join(text.split())
        return text, markdown

    def slide(self, number: int, page: Any) -> tuple[str, str]:
        shapes = [self._shape(child) for child in page if child.tag != f"{PRESENTATION}notes"]
        notes_element = page.find(f"{PRESENTATION}notes")
        notes = ""
        if notes_element is not None:
            notes = "\n".join(t for t, _ in (self.block(c) for c in notes_element) if t)
        body = "\n\n".join(m for _, m in shapes if m)
        markdown = f"<!-- slide {number} -->\n\n{body}"
        if notes:
            markdown += "\n\n### Notes\n\n" + notes
        texts = [t for t, _ in shapes if t] + ([notes] if notes else [])
        return "\n".join(texts), markdown


def inline(element: Any) -> str:
    """The text of a paragraph, its spaces, tabs and line breaks as written."""
    parts: list[str] = [element.text or ""]
    for child in element:
        tag = child.tag
        if tag == f"{TEXT}s":
            parts.append(" " * min(int(child.get(f"{TEXT}c", "1") or 1), 100))
        elif tag == f"{TEXT}tab":
            parts.append("\t")
        elif tag == f"{TEXT}line-break":
            parts.append("\n")
        elif tag in (f"{OFFICE}annotation", f"{TEXT}note"):
            pass  # comments and footnotes are not part of the sentence around them
        else:
            parts.append(inline(child))
        parts.append(child.tail or "")
    return "".join(parts).strip()


def _rows(table: Any) -> list[list[str]]:
    rows: list[list[str]] = []
    for row in table.iter(f"{TABLE}table-row"):
        cells: list[str] = []
        for cell in row:
            if cell.tag not in (f"{TABLE}table-cell", f"{TABLE}covered-table-cell"):
                continue
            text = " ".join(inline(p) for p in cell.iter(f"{TEXT}p")).strip()
            repeat = min(int(cell.get(f"{TABLE}number-columns-repeated", "1") or 1), _MAX_REPEAT)
            cells.extend([text] * repeat)
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            rows.append(cells)
    return rows
