"""A document's structure kept with its record: the Markdown and tables a reader found go
through the pipeline into the record (capped, with a note when cut) and come back through
``fp.record(...).markdown`` / ``.tables()``, ``fileproc show`` and the UI preview; the
migration that adds them runs up and down on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner

import fileproc_dagster as fp
from fileproc_dagster.app.cli import cli
from fileproc_dagster.definitions import ASSETS, build_resources
from fileproc_dagster.defs.metadata import preview
from fileproc_dagster.defs.partitions import uploads_partitions
from fileproc_dagster.describe.documents.describe import pdf_date
from fileproc_dagster.describe.markdown import PAGE_MARKER, first_heading, paged
from fileproc_dagster.describe.model import Description, Table
from fileproc_dagster.describe.preview import INLINE_LIMIT, preview_markdown
from fileproc_dagster.hooks import Hooks
from fileproc_dagster.intake.admit import receive
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.database import alembic_config, driver_url
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.states import State
from fileproc_dagster.storage.structure import MAX_MARKDOWN_CHARS, keep
from support.resources import with_hooks

MARKDOWN = """<!-- page 1 -->

# Quarterly report

Sales rose in **every** region.

- north: up
- south: up

<!-- page 2 -->

| Region | Q1 | Q2 |
|---|---|---|
| North | 10 | 12 |
| South | 7 | 9 |
"""
TABLES = (Table("Sales", [["Region", "Q1", "Q2"], ["North", "10", "12"], ["South", "7", "9"]]),
          Table("", [["a", "", "a"], ["1", "2"]]))
PROPERTIES = {"title": "Quarterly report", "author": "Ada Example",
              "created": "2024-03-01T09:30:00+01:00", "producer": "Office 2021"}


def structured(path: Path, *_: Any, **__: Any) -> Description:
    """What a reader of structure returns, whatever the file (runs in the extraction worker)."""
    return Description(description="report, 2 pages", text=path.read_text(),
                       details={"pages": 2, "properties": PROPERTIES},
                       markdown=MARKDOWN, tables=TABLES)


class Structured(Hooks):
    """The extraction replaced by ``structured``."""

    def extraction(self, fn: Callable[..., Any], *subjects: str) -> Callable[..., Any]:
        return structured


def _cli(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def _materialize(settings: Settings, source: Path) -> tuple[str, dg.ExecuteInProcessResult]:
    """``source`` uploaded and its partition materialized by the assets, described by
    ``Structured``: its key and the run's result."""
    with dg.instance_for_test() as instance:
        shutil.copyfile(source, settings.upload_dir / source.name)
        key = receive(settings.upload_dir, source.name, Records(settings.db_url)).key
        instance.add_dynamic_partitions(uploads_partitions.name, [key])
        result = dg.materialize(ASSETS, partition_key=key, instance=instance,
                                resources=with_hooks(build_resources(settings), Structured()))
    return key, result


@pytest.fixture()
def described(settings: Settings, tmp_path: Path) -> str:
    """The key of a file described with markdown, tables and properties by the assets."""
    source = tmp_path / "report.txt"
    source.write_text("Quarterly report. Sales rose in every region.\n")
    key, result = _materialize(settings, source)
    assert result.success
    shown = result.asset_materializations_for_node("file_description")[0].metadata
    assert shown["tables"].value == 2
    assert "### Quarterly report" in str(shown["preview"].value)
    return key


def test_structure_goes_through_the_pipeline_into_the_record(settings: Settings,
                                                             described: str) -> None:
    record = Records(settings.db_url).files.get(described)
    assert record is not None and record.state is State.DONE
    assert record.markdown == MARKDOWN
    assert record.tables == [{"name": "Sales", "rows": [list(r) for r in TABLES[0].rows]},
                             {"name": "", "rows": [["a", "", "a"], ["1", "2"]]}]
    assert "structure_cut" not in (record.details or {})
    assert record.details and record.details["properties"] == PROPERTIES


def test_the_notebook_gives_the_markdown_and_the_tables_as_frames(settings: Settings,
                                                                   described: str) -> None:
    view = fp.record(described, settings=settings)
    assert view.markdown == MARKDOWN
    assert view.properties["author"] == "Ada Example"
    sales, other = view.tables()
    expected = pd.DataFrame([["North", "10", "12"], ["South", "7", "9"]],
                            columns=["Region", "Q1", "Q2"], dtype="string")
    pd.testing.assert_frame_equal(sales, expected)
    assert sales.attrs["name"] == "Sales"
    # Blank and repeated header cells get names; a short row is padded.
    assert list(other.columns) == ["a", "column 2", "a'"]
    assert other.iloc[0].tolist() == ["1", "2", ""]
    html = view._repr_html_()
    assert "Ada Example" in html and "Sales (3 rows)" in html
    frame = fp.records(settings=settings)
    row = frame.iloc[0]
    assert (row["title"], row["author"], row["table_count"]) == (
        "Quarterly report", "Ada Example", 2)
    assert row["created"] == pd.Timestamp("2024-03-01T08:30:00Z")
    assert str(frame["created"].dtype) == "datetime64[ns, UTC]"


def test_show_prints_the_markdown_and_mentions_tables_and_properties(settings: Settings,
                                                                      described: str) -> None:
    assert _cli("show", described, "--markdown") == MARKDOWN
    shown = _cli("show", described)
    assert "tables       2: Sales (2 rows × 3 columns), table (1 row × 3 columns)" in shown
    assert f"markdown     {len(MARKDOWN):,} characters (fileproc show KEY --markdown)" in shown
    properties = shown.split("-- properties --")[1].split("-- details --")[0]
    assert "author    Ada Example" in properties and "title     Quarterly report" in properties
    assert "properties" not in shown.split("-- details --")[1]
    whole = json.loads(_cli("show", described, "--json"))
    assert whole["markdown"] == MARKDOWN and whole["tables"][0]["name"] == "Sales"
    assert "--json and --markdown" in _cli("show", described, "--json", "--markdown", code=2)


def test_show_markdown_of_a_record_without_one_says_why(settings: Settings) -> None:
    records = Records(settings.db_url)
    key = records.uploads.receive("photo-0123456789ab", "photo.jpg", "0" * 64, 3, 1).key
    records.files.insert(key, State.STORED, type="image", mime="image/jpeg")
    said = _cli("show", key, "--markdown", code=1)
    assert "has no Markdown: it is stored, not described yet" in said
    records.files.advance(key, State.DESCRIBED, description="a photo", text="")
    assert "its reader keeps no structure" in _cli("show", key, "--markdown", code=1)


def test_the_ui_preview_shows_the_first_heading_and_the_first_rows(settings: Settings,
                                                                    described: str) -> None:
    record = Records(settings.db_url).files.get(described)
    assert record is not None
    text = str(preview(record).value)
    assert len(text) <= INLINE_LIMIT
    assert "### Quarterly report" in text
    assert "_Sales:_\n\n| Region | Q1 | Q2 |\n|---|---|---|\n| North | 10 | 12 |" in text
    assert text.endswith(f"record `{record.uuid}`")


def test_a_large_preview_still_fits_and_keeps_the_heading() -> None:
    rows = [[f"header {c} " + "x" * 40 for c in range(9)]] + [
        [f"cell {r}.{c} <b>|" + "y" * 40 for c in range(9)] for r in range(50)]
    text = "\n".join("line " + "word " * 30 for _ in range(20))
    shown = preview_markdown("big.xlsx", "document", "done", "u", text, {}, None,
                             markdown="intro\n\n## Big *sheet* [x](y)\n", tables=[("S", rows)])
    assert len(shown) <= INLINE_LIMIT
    assert "### Big \\*sheet\\* \\[x\\]\\(y\\)" in shown  # the heading, as text
    table = [line for line in shown.splitlines() if line.startswith("|")]
    assert table[0].endswith("| … |") and table[0].count("|") == 6  # 4 columns and "more"
    assert "\\<b\\>\\|" in shown and "<b>" not in shown  # cells are text, not HTML or columns
    assert len(table) >= 3  # header, rule and a first row at least


def test_a_file_without_structure_keeps_its_plain_preview() -> None:
    plain = preview_markdown("memo.txt", "document", "done", "u", "Hello", {"pages": 1}, None)
    assert plain == preview_markdown("memo.txt", "document", "done", "u", "Hello",
                                     {"pages": 1}, None, markdown="Hello", tables=())
    assert plain == "**memo.txt** · document, 1 page · state **done**  \nHello  \nrecord `u`"


def test_markdown_over_the_cap_is_cut_at_a_line_with_a_note() -> None:
    line = "| a row of a long table | with | cells |\n"
    big = line * (MAX_MARKDOWN_CHARS // len(line) + 100)
    kept = keep(big, [])
    assert kept.markdown is not None and len(kept.markdown) <= MAX_MARKDOWN_CHARS
    body, note = kept.markdown.rstrip("\n").rsplit("\n\n", 1)
    assert note == f"<!-- cut: the Markdown was {len(big):,} characters -->"
    assert all(row + "\n" == line for row in body.split("\n"))  # whole lines only
    assert kept.cut == (f"Markdown cut to {len(kept.markdown):,} of {len(big):,} characters")
    assert keep("# small", []) == keep("# small", [], max_chars=7)
    assert keep("# small", []).cut is None and keep("", []).markdown is None


def test_tables_over_the_cap_keep_their_first_rows_with_a_note() -> None:
    tables = [(f"t{n}", [["h1", "h2"], *[["a", "b"]] * 9]) for n in range(4)]
    kept = keep("", tables, max_tables=3, max_cells=50)
    assert kept.tables is not None
    assert [(t["name"], len(t["rows"])) for t in kept.tables] == [("t0", 10), ("t1", 10),
                                                                  ("t2", 5)]
    assert kept.cut == "3 of 4 tables kept; 1 table cut to 50 cells in all"
    long = keep("", [("t", [["x" * 20_000, "\x00ok"]])])
    assert long.tables == [{"name": "t", "rows": [["x" * 10_000, "ok"]]}]
    assert long.cut == "1 cell cut to 10,000 characters"
    assert keep("", []).tables is None


def test_a_cut_is_noted_in_the_details(settings: Settings, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fileproc_dagster.pipeline.keep",
                        lambda markdown, tables: keep(markdown, tables, max_chars=60))
    source = tmp_path / "report.txt"
    source.write_text("Quarterly report.\n")
    key, result = _materialize(settings, source)
    assert result.success
    record = Records(settings.db_url).files.get(key)
    assert record is not None and record.details is not None
    assert record.details["structure_cut"].startswith("Markdown cut to ")
    assert record.markdown is not None and record.markdown.endswith(" characters -->\n")
    assert "structure_cut" in _cli("show", key)


def test_page_markers_and_the_first_heading() -> None:
    markdown = paged(["First page\n", "", "Third"])
    assert markdown == ("<!-- page 1 -->\n\nFirst page\n\n<!-- page 2 -->\n\n"
                        "<!-- page 3 -->\n\nThird")
    assert [int(n) for n in PAGE_MARKER.findall(markdown)] == [1, 2, 3]
    assert first_heading(markdown) is None
    assert first_heading("```\n# not a heading\n```\nTitle\n=====\n# later") == "Title"
    assert first_heading("text\n\n### Closing ###\n") == "Closing"
    assert first_heading("#hashtag\n") is None


def test_a_pdf_gets_its_pages_as_markdown_and_its_properties(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    path = tmp_path / "minutes.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.setTitle("Minutes of the annual meeting")
    pdf.setAuthor("Grace Example")
    for words in ("The chair opened the meeting at seven.", "The treasurer read the accounts."):
        pdf.drawString(72, 720, words)
        pdf.showPage()
    pdf.save()
    described = fp.describe_path(path)
    assert PAGE_MARKER.split(described.markdown) == [
        "", "1", "\n\nThe chair opened the meeting at seven.\n\n",
        "2", "\n\nThe treasurer read the accounts."]
    properties = described.details["properties"]
    assert (properties["title"], properties["author"]) == ("Minutes of the annual meeting",
                                                          "Grace Example")
    assert datetime.fromisoformat(properties["created"]).tzinfo is not None


def test_pdf_dates_read_as_iso_moments() -> None:
    assert pdf_date("D:20240131093000+01'00'") == "2024-01-31T09:30:00+01:00"
    assert pdf_date("D:20240131093000-05'30'") == "2024-01-31T09:30:00-05:30"
    assert pdf_date("D:2024") == "2024-01-01T00:00:00+00:00"
    assert pdf_date("D:20241399") is None and pdf_date("yesterday") is None


def test_a_text_file_is_its_own_markdown(tmp_path: Path) -> None:
    note = tmp_path / "notes.txt"
    note.write_text("Notes\n\nthe first line\nthe second line\n")
    described = fp.describe_path(note)
    assert described.markdown == described.text == "Notes\n\nthe first line\nthe second line"


def test_a_markdown_file_keeps_its_markup_in_the_markdown_only(tmp_path: Path) -> None:
    note = tmp_path / "notes.md"
    note.write_text("# Notes\n\n- one\n- two\n")
    described = fp.describe_path(note)
    assert described.markdown.rstrip("\n") == "# Notes\n\n- one\n- two"
    assert described.text.splitlines()[0] == "Notes"


def _columns(url: str) -> set[str]:
    engine = sa.create_engine(driver_url(url))
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns("files")}
    finally:
        engine.dispose()


def test_the_structure_migration_goes_up_and_down(new_db_url: Callable[[], str]) -> None:
    url = new_db_url()
    records = Records(url)
    key = records.uploads.receive("memo-0123456789ab", "memo.txt", "1" * 64, 5, 1).key
    records.files.insert(key, State.STORED, type="document", mime="text/plain")
    records.files.advance(key, State.DESCRIBED, description="memo", text="hello world",
                          markdown="# hello", tables=[{"name": "t", "rows": [["a"]]}])
    assert {"markdown", "tables"} <= _columns(url)
    with records.db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0005")
    assert not {"markdown", "tables"} & _columns(url)
    with records.db.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    assert {"markdown", "tables"} <= _columns(url)
    again = Records(url).files.get(key)
    assert again is not None and (again.text, again.markdown, again.tables) == (
        "hello world", None, None)  # the rest of the record is kept
    assert [r.key for r in Records(url).files.search("hello")] == [key]
