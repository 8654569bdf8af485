"""Delimited text (CSV, TSV): the dialect sniffed, the rows as a table, the text searchable.

Example::

    from fileproc_dagster.describe.office.delimited import describe_delimited

    result = describe_delimited(Path("prices.csv"), "text/csv", ExtractOptions())
    result.tables[0].rows[:2]  # [['item', 'price'], ['tea', '2.40']]
    result.details["delimiter"]  # ','
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from fileproc_dagster.describe.documents.textfiles import decode_text
from fileproc_dagster.describe.model import Description, ExtractOptions, Table
from fileproc_dagster.describe.office.package import markdown_table, summarise
from fileproc_dagster.errors import BadInput

MAX_BYTES = 64 * 1024 * 1024
MAX_ROWS = 10_000  # rows kept in the table and its Markdown; the text keeps every row
MAX_FIELD = 1024 * 1024
_SAMPLE = 64 * 1024
_DELIMITERS = ",;\t|"


def describe_delimited(path: Path, mime: str, options: ExtractOptions) -> Description:
    """A CSV or TSV file as one table (the first row its header) and as searchable text."""
    if path.stat().st_size > MAX_BYTES:
        raise BadInput(f"delimited text file larger than {MAX_BYTES // 2**20} MiB")
    text, encoding = decode_text(path.read_bytes())
    dialect = _dialect(text, mime)
    csv.field_size_limit(MAX_FIELD)
    try:
        rows = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text), dialect)]
    except csv.Error as exc:
        raise BadInput(f"not readable delimited text: {exc}") from exc
    rows = [row for row in rows if any(row)]
    kept = rows[:MAX_ROWS]
    kind = "TSV table" if dialect.delimiter == "\t" else "CSV table"
    tables = (Table(path.stem or "table", kept),) if kept else ()
    notes = [f"first {len(kept)} of {len(rows)} rows kept"] if len(kept) < len(rows) else []
    plain = "\n".join("\t".join(c for c in row if c) for row in rows)
    extra: dict[str, Any] = {"encoding": encoding, "delimiter": dialect.delimiter}
    if notes:
        extra["truncated"] = notes
    return summarise(kind, mime, plain, markdown_table(kept), counts={"rows": len(rows)},
                     tables=tables, **extra)


def _dialect(text: str, mime: str) -> type[csv.Dialect] | csv.Dialect:
    sample = text[:_SAMPLE]
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
    except csv.Error:
        # One column, or too few rows to tell: the type (or tabs present) decides.
        return csv.excel_tab if "tab-separated" in mime or "\t" in sample else csv.excel
