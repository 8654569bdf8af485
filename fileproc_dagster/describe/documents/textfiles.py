"""Plain text (encoding detected) and Word .docx files, read into pages without OCR."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import charset_normalizer
import docx

from fileproc_dagster.describe.documents.reading import Page, Read
from fileproc_dagster.errors import BadInput

_MAX_TEXT_BYTES = 64 * 1024 * 1024
_MAX_DOCX_UNPACKED = 256 * 1024 * 1024  # a .docx is a zip: refuse decompression bombs
_WESTERN = ("cp1252", "latin_1", "iso8859_15")


def read_text(path: Path) -> Read:
    """A text file, split into pages at form feeds."""
    if path.stat().st_size > _MAX_TEXT_BYTES:
        raise BadInput(f"text file larger than {_MAX_TEXT_BYTES // 2**20} MiB")
    text, encoding = decode_text(path.read_bytes())
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # A form feed is the page break of plain text (printer output, pdftotext).
    pages = [Page(page, "text") for page in text.split("\f")]
    return Read("Text file", pages, extra={"encoding": encoding})


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode bytes of a text file, detecting the encoding; raises BadInput for binary data."""
    try:
        text, encoding = data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = _guess_encoding(data)
    # NUL and other control bytes are valid in some encodings, but not in a text document.
    controls = sum(1 for ch in text if not ch.isprintable() and ch not in "\n\r\t\f\v")
    if controls > 0.01 * max(len(text), 1):
        raise BadInput("not text: it decodes to control characters (binary data?)")
    return text.lstrip("\ufeff"), encoding


def _guess_encoding(data: bytes) -> tuple[str, str]:
    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        raise BadInput("not text: no character encoding decodes it (binary data?)")
    # Short texts often tie between single-byte code pages (cp1250 reads "fête" as "fęte");
    # among equally good ones the Western European page is the likeliest upload.
    best = matches[0]
    tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    match = next((m for m in tied if m.encoding in _WESTERN), best)
    return str(match), match.encoding


def read_docx(path: Path) -> Read:
    """A Word document's paragraphs and table rows, refusing decompression bombs."""
    try:
        with zipfile.ZipFile(path) as archive:
            if sum(info.file_size for info in archive.infolist()) > _MAX_DOCX_UNPACKED:
                raise BadInput("Word document unpacks to more than "
                               f"{_MAX_DOCX_UNPACKED // 2**20} MiB (decompression bomb?)")
            layout_pages = _docx_layout_pages(archive)
        document = docx.Document(str(path))
        paragraphs = [p.text for p in document.paragraphs if p.text.strip()]
        rows = list(_table_rows(document))
    except BadInput:
        raise
    except Exception as exc:  # python-docx and lxml raise many types for a damaged package
        raise BadInput(f"not a readable Word document (damaged .docx): {exc}") from exc
    blocks = ["\n".join(paragraphs), "\n".join(rows)]
    page = Page("\n\n".join(b for b in blocks if b), "text")
    return Read("Word document", [page], page_count=layout_pages)


def _table_rows(document: Any) -> Iterator[str]:
    for table in document.tables:
        for row in table.rows:
            cells: list[str] = []
            for cell in row.cells:
                # Merged cells repeat once per grid column; keep each once.
                if cell.text.strip() and (not cells or cells[-1] != cell.text.strip()):
                    cells.append(cell.text.strip())
            if cells:
                yield "\t".join(cells)


def _docx_layout_pages(archive: zipfile.ZipFile) -> int:
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
