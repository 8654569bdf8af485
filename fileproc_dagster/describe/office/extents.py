"""How many cells a spreadsheet's sheets span, found before a reader builds them.

A spreadsheet reader builds each sheet as a dense grid from its first used cell to its last,
so one value in A1 and another in XFD1048576 asks for 17 billion cells and takes the process
down. These scanners read only the cell addresses (XLSX XML, OpenDocument XML with its
repeat counts, the BIFF records of a legacy .xls) and return the largest span of any sheet,
so the reader can refuse such a file first.
"""

from __future__ import annotations

import re
import struct
import zipfile
from pathlib import Path

from defusedxml.ElementTree import iterparse

_CELL = re.compile(rb"<(?:\w+:)?c\b[^>]*?\br=\"([A-Z]{1,3})(\d{1,7})\"")
_CHUNK = 1 << 20
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
# BIFF8 cell records: row and column are the first two 16-bit fields.
_BIFF_CELLS = {0x0006, 0x00FD, 0x0201, 0x0203, 0x0204, 0x0205, 0x027E}
_BIFF_MULTI = {0x00BD, 0x00BE}  # MULRK, MULBLANK: last column in the final two bytes
_BIFF_BOF, _BIFF_EOF = 0x0809, 0x000A


class _Span:
    def __init__(self) -> None:
        self.rows = [1 << 62, -1]
        self.cols = [1 << 62, -1]

    def add(self, row: int, first_col: int, last_col: int | None = None) -> None:
        self.rows = [min(self.rows[0], row), max(self.rows[1], row)]
        self.cols = [min(self.cols[0], first_col), max(self.cols[1], last_col or first_col)]

    @property
    def cells(self) -> int:
        if self.rows[1] < 0:
            return 0
        return (self.rows[1] - self.rows[0] + 1) * (self.cols[1] - self.cols[0] + 1)


def xlsx_span(archive: zipfile.ZipFile) -> int:
    """The most cells any worksheet of an .xlsx spans."""
    largest = 0
    for name in archive.namelist():
        if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
            continue
        span = _Span()
        with archive.open(name) as part:
            tail = b""
            while chunk := part.read(_CHUNK):
                data = tail + chunk
                for match in _CELL.finditer(data):
                    span.add(int(match.group(2)), _column(match.group(1)))
                tail = data[-64:]  # an address cut by the chunk border is seen again whole
        largest = max(largest, span.cells)
    return largest


def _column(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def ods_span(archive: zipfile.ZipFile) -> int:
    """The most cells any table of an OpenDocument spreadsheet spans, repeats counted."""
    largest = 0
    span, row, col, row_used = _Span(), 0, 0, False
    with archive.open("content.xml") as part:
        for event, element in iterparse(part, events=("start", "end"), forbid_dtd=True):
            tag = element.tag
            if event == "start":
                if tag == f"{_TABLE}table":
                    span, row = _Span(), 0
                elif tag == f"{_TABLE}table-row":
                    col, row_used = 0, False
                continue
            if tag in (f"{_TABLE}table-cell", f"{_TABLE}covered-table-cell"):
                repeat = int(element.get(f"{_TABLE}number-columns-repeated", "1"))
                if element.get(f"{_OFFICE}value-type") or len(element):
                    span.add(row, col, col + repeat - 1)
                    row_used = True
                col += repeat
                element.clear()
            elif tag == f"{_TABLE}table-row":
                repeat = int(element.get(f"{_TABLE}number-rows-repeated", "1"))
                if row_used:
                    span.add(row + repeat - 1, span.cols[0])
                row += repeat
                element.clear()
            elif tag == f"{_TABLE}table":
                largest = max(largest, span.cells)
                element.clear()
    return largest


def xls_span(path: Path) -> int:
    """The most cells any sheet of a legacy .xls (BIFF8 in an OLE file) spans."""
    import olefile

    with olefile.OleFileIO(str(path)) as ole:
        stream = next((s for s in ("Workbook", "Book") if ole.exists(s)), None)
        if stream is None:
            return 0
        data = ole.openstream(stream).read()
    largest, span, offset = 0, _Span(), 0
    while offset + 4 <= len(data):
        kind, length = struct.unpack_from("<HH", data, offset)
        body = data[offset + 4:offset + 4 + length]
        offset += 4 + length
        if kind == _BIFF_BOF:
            span = _Span()
        elif kind == _BIFF_EOF:
            largest = max(largest, span.cells)
        elif kind in _BIFF_CELLS and len(body) >= 4:
            row, col = struct.unpack_from("<HH", body)
            span.add(row, col)
        elif kind in _BIFF_MULTI and len(body) >= 6:
            row, col = struct.unpack_from("<HH", body)
            span.add(row, col, struct.unpack_from("<H", body, len(body) - 2)[0])
    return max(largest, span.cells)
