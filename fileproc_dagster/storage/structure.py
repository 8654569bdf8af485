"""What a record keeps of a document's structure: its Markdown and its tables, capped.

The Markdown is kept up to ``MAX_MARKDOWN_CHARS`` characters (about 500 pages); past that it is
cut at a line break and ends with a ``<!-- cut: ... -->`` note. Tables are kept whole up to
``MAX_TABLES`` tables and ``MAX_TABLE_CELLS`` cells in all; a table over what is left keeps its
first rows (its header first), later ones are left out. Whatever was cut is said in one line,
which the pipeline writes to the record's details as ``structure_cut``; the plain text, which
search reads, is kept whole either way.

Tables are stored as JSON: a list of ``{"name": ..., "rows": [[cell, ...], ...]}``, the first
row the header.

Example::

    kept = keep("# Title\\n\\ntext", [("Sheet1", [["a", "b"], ["1", "2"]])])
    kept.markdown, kept.tables, kept.cut   # ('# Title\\n\\ntext', [{'name': 'Sheet1', ...}], None)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MAX_MARKDOWN_CHARS = 1_000_000
MAX_TABLES = 200
MAX_TABLE_CELLS = 200_000
MAX_CELL_CHARS = 10_000

# A table as the pipeline hands it over: its name and rows of cell texts.
TableRows = tuple[str, Sequence[Sequence[str]]]


@dataclass(frozen=True)
class Kept:
    """The structure as stored: Markdown and tables (None when there are none), and what was
    cut, in words (None when nothing was)."""

    markdown: str | None
    tables: list[dict[str, Any]] | None
    cut: str | None


def keep(markdown: str, tables: Sequence[TableRows],
         max_chars: int = MAX_MARKDOWN_CHARS, max_tables: int = MAX_TABLES,
         max_cells: int = MAX_TABLE_CELLS) -> Kept:
    """The Markdown and tables of a description within the caps, and a note of what was cut."""
    notes: list[str] = []
    kept_markdown = markdown
    if len(markdown) > max_chars:
        kept_markdown = _cut_markdown(markdown, max_chars)
        notes.append(f"Markdown cut to {len(kept_markdown):,} of {len(markdown):,} characters")
    kept_tables, table_notes = _cut_tables(tables, max_tables, max_cells)
    notes += table_notes
    return Kept(markdown=kept_markdown or None, tables=kept_tables or None,
                cut="; ".join(notes) or None)


def _cut_markdown(markdown: str, limit: int) -> str:
    note = f"\n\n<!-- cut: the Markdown was {len(markdown):,} characters -->\n"
    room = max(0, limit - len(note))
    head = markdown[:room]
    if "\n" in head:
        head = head[:head.rindex("\n")]  # a whole line, not half a table row or a word
    return head.rstrip() + note


def _cut_tables(tables: Sequence[TableRows], max_tables: int,
                max_cells: int) -> tuple[list[dict[str, Any]], list[str]]:
    kept: list[dict[str, Any]] = []
    cells_left = max_cells
    shortened = long_cells = 0
    for name, rows in tables[:max_tables]:
        if cells_left <= 0:
            break
        taken: list[list[str]] = []
        for row in rows:
            cells = [str(cell).replace("\x00", "") for cell in row]
            long_cells += sum(len(cell) > MAX_CELL_CHARS for cell in cells)
            cells = [cell[:MAX_CELL_CHARS] for cell in cells]
            if len(cells) > cells_left:
                break
            taken.append(cells)
            cells_left -= len(cells)
        shortened += len(taken) < len(rows)
        kept.append({"name": str(name), "rows": taken})
    notes = []
    if len(kept) < len(tables):
        notes.append(f"{len(kept)} of {len(tables)} tables kept")
    if shortened:
        notes.append(f"{shortened} table{'s' if shortened > 1 else ''} cut to "
                     f"{max_cells:,} cells in all")
    if long_cells:
        notes.append(f"{long_cells} cell{'s' if long_cells > 1 else ''} cut to "
                     f"{MAX_CELL_CHARS:,} characters")
    return kept, notes


def rows_of(tables: list[dict[str, Any]] | None) -> list[tuple[str, list[list[str]]]]:
    """The stored tables as (name, rows) pairs, rows as lists of cell texts."""
    return [(str(t.get("name", "")), [[str(c) for c in row] for row in t.get("rows") or []])
            for t in tables or [] if isinstance(t, dict)]
