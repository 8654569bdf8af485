"""Office readers on files made by others (tests/realworld/office/, see sources.json): the
phrases read by eye in each file's XML are found in our text, and the tables' cells."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fileproc_dagster.describe import describe
from fileproc_dagster.describe.detect import detect
from fileproc_dagster.describe.model import Description, ExtractOptions

HERE = Path(__file__).parent / "realworld" / "office"
OPTIONS = ExtractOptions()


CELLS = {  # (table, row, column): the cell's text
    "test.xlsx": {("Sheet1", 0, 0): "text", ("Sheet1", 2, 0): "Chicago Sun-Times",
                  ("Sheet1", 2, 7): "Extra data beyond headers will be trimmed",
                  ("Sheet1", 1, 2): "40"},
    "test.xls": {("testfixed_converted.csv", 3, 2): "164",
                 ("testfixed_converted.csv", 5, 0): "Unicode! Σ"},
    "FY09_EDU_Recipients_by_State.csv": {("FY09_EDU_Recipients_by_State", 1, 0): "ALABAMA",
                                         ("FY09_EDU_Recipients_by_State", 1, 8): "12,426"},
    "blk-paras-and-tables.docx": {("Table 1", 0, 0): "Text before Table Between Text after"},
}

SOURCES = json.loads((HERE / "sources.json").read_text())
# The phrases read by eye, kept with each file's source (benchmarks.formats scores them too).
PHRASES: dict[str, list[str]] = {s["file"]: s["phrases"] for s in SOURCES}


def _read(name: str) -> Description:
    path = HERE / name
    return describe(path, detect(path, OPTIONS), OPTIONS)


def test_every_file_has_its_source_and_a_redistributable_licence() -> None:
    files = {p.name for p in HERE.iterdir() if p.name != "sources.json"}
    assert files == {s["file"] for s in SOURCES} == set(PHRASES)
    assert all(PHRASES.values())
    assert all(s["licence"] in ("MIT", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0")
               for s in SOURCES)


@pytest.mark.parametrize("name", sorted(PHRASES))
def test_phrases_read_by_eye_are_found(name: str) -> None:
    result = _read(name)
    flat = " ".join(result.text.split())
    missing = [p for p in PHRASES[name] if p not in flat]
    assert missing == [], result.text


@pytest.mark.parametrize("name", sorted(CELLS))
def test_table_cells(name: str) -> None:
    tables = {t.name: t.rows for t in _read(name).tables}
    for (table, row, column), expected in CELLS[name].items():
        assert tables[table][row][column] == expected


def test_headers_and_footers_are_kept_apart() -> None:
    result = _read("hdr-header-footer.docx")
    assert result.details["headers"] == ["Header for section-1"]
    assert result.details["footers"] == ["Footer for section 1"]
    assert "Header for section-1" not in result.markdown
    assert result.details["properties"]["author"] == "Steve Canny"


def test_comments_are_kept_with_their_author() -> None:
    comments = _read("comments-rich-para.docx").details["comments"]
    assert comments[0] == {"author": "Steve Canny",
                           "text": "Text with hyperlink https://google.com embedded."}
    assert len(comments) == 4


def test_every_sheet_is_a_table() -> None:
    for name in ("sheets.xlsx", "sheets.xls"):
        result = _read(name)
        assert result.details["sheet_names"] == ["not this one", "data", "ʤ"]
        assert result.details["sheets"] == 3
