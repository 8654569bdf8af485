"""Spreadsheets (.xlsx, legacy .xls, OpenDocument .ods): every sheet a table, read with
python-calamine (a Rust reader of all three; MIT).

Example::

    from fileproc_dagster.describe.office.sheets import describe_spreadsheet

    result = describe_spreadsheet(Path("budget.xlsx"), XLSX_MIME, ExtractOptions())
    [t.name for t in result.tables]  # ['2024', '2025']
    result.details["sheets"]  # 2
"""

from __future__ import annotations

import zipfile
from contextlib import nullcontext
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from fileproc_dagster.describe.model import Description, ExtractOptions, Table
from fileproc_dagster.describe.office.extents import ods_span, xls_span, xlsx_span
from fileproc_dagster.describe.office.opendocument import odf_properties
from fileproc_dagster.describe.office.package import (
    encrypted,
    is_ole,
    markdown_table,
    ole_encrypted,
    ooxml_properties,
    open_package,
    summarise,
    table_text,
)
from fileproc_dagster.errors import BadInput

LABEL = "spreadsheet"
MAX_SPAN_CELLS = 2_000_000  # a sheet is built as a dense grid: about 32 bytes a cell
MAX_SHEETS = 500
MAX_ROWS = 10_000  # rows kept per sheet; the rest are counted and noted
MAX_CELLS = 500_000  # cells kept over all sheets


def describe_spreadsheet(path: Path, mime: str, options: ExtractOptions) -> Description:
    """Every sheet of a workbook as a table, as Markdown and as tab-separated text."""
    legacy = is_ole(path)
    if legacy and ole_encrypted(path):
        raise encrypted(LABEL)
    with (nullcontext() if legacy else open_package(path, LABEL)) as archive:
        properties, span = _facts(path, archive)
    if span > MAX_SPAN_CELLS:
        raise BadInput(f"a sheet spans {span:,} cells (first to last used cell), more than the "
                       f"limit of {MAX_SPAN_CELLS:,}")
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        names = list(workbook.sheet_names)
        if len(names) > MAX_SHEETS:
            raise BadInput(f"workbook has {len(names)} sheets, more than the limit of "
                           f"{MAX_SHEETS}")
        tables, notes = _tables(workbook, names)
    except BadInput:
        raise
    except Exception as exc:  # calamine raises its own error types for damaged workbooks
        raise BadInput(f"not a readable spreadsheet (damaged or truncated): {exc}") from exc
    kind = {"application/vnd.ms-excel": "Excel 97-2003 workbook",
            "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument spreadsheet"}.get(
        mime, "Excel workbook")
    text = "\n\n".join(f"{t.name}\n{table_text(t.rows)}" for t in tables)
    markdown = "\n\n".join(f"## {t.name}\n\n{markdown_table(t.rows)}" for t in tables)
    extra: dict[str, Any] = {"sheet_names": names}
    if notes:
        extra["truncated"] = notes
    return summarise(kind, mime, text, markdown, counts={"sheets": len(names)},
                     tables=tuple(tables), properties=properties, **extra)


def _facts(path: Path, archive: zipfile.ZipFile | None) -> tuple[dict[str, str], int]:
    try:
        if archive is None:
            return {}, xls_span(path)
        if "content.xml" in archive.namelist():
            return odf_properties(archive, LABEL), ods_span(archive)
        return ooxml_properties(archive, LABEL), xlsx_span(archive)
    except BadInput:
        raise
    except Exception as exc:  # olefile, zipfile and the XML parser on a damaged file
        raise BadInput(f"not a readable spreadsheet (damaged or truncated): {exc}") from exc


def _tables(workbook: Any, names: list[str]) -> tuple[list[Table], list[str]]:
    tables: list[Table] = []
    notes: list[str] = []
    budget = MAX_CELLS
    for name in names:
        sheet = workbook.get_sheet_by_name(name)
        rows = [[_cell(v) for v in row] for row in sheet.to_python(skip_empty_area=True)]
        while rows and not any(rows[-1]):
            rows.pop()
        if not rows:
            continue
        width = max(len(r) for r in rows)
        keep = min(len(rows), MAX_ROWS, max(budget // max(width, 1), 0))
        if keep < len(rows):
            notes.append(f"sheet {name!r}: first {keep} of {len(rows)} rows kept")
        budget -= keep * width
        if keep:
            tables.append(Table(name, rows[:keep]))
    return tables, notes


def _cell(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ").removesuffix(" 00:00:00")
    if isinstance(value, (date, time, timedelta)):
        return str(value)
    return "" if value is None else str(value).strip()
