"""``benchmarks.formats`` keeps working: its scoring on two real files with our reader (and the
peers when the ``bench`` extra is installed), its child processes and its table."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from benchmarks.formats import (
    READERS,
    Expectation,
    expectations,
    markdown_tables,
    missing,
    phrase_found,
    run_formats,
    score,
    summarize,
    table,
)

REALWORLD = Path(__file__).parent / "realworld"
FAST = ("office/variables.odt", "office/FY09_EDU_Recipients_by_State.csv")


def _expectation(name: str) -> Expectation:
    return next(e for e in expectations() if e.path == REALWORLD / name)


def test_every_real_file_is_benchmarked_and_the_documents_have_phrases() -> None:
    listed = {e.path for e in expectations()}
    on_disk = {p for p in REALWORLD.glob("*/*") if p.name != "sources.json"}
    assert listed == on_disk
    documents = [e for e in expectations() if e.path.parent.name in ("office", "web", "mail")]
    assert documents and all(e.phrases for e in documents)


def test_the_scoring_rule() -> None:
    assert phrase_found("Unicode! Σ", "| Unicode\\! Σ |", "xlsx")
    assert phrase_found("two words", "two\n  words", "docx")
    assert not phrase_found("two words", "two-words", "docx")
    assert phrase_found("jobs.build.runs-on: ubuntu-latest", "runs-on: ubuntu-latest", "yaml")
    assert not phrase_found("jobs.build.runs-on: ubuntu-latest", "runs-on: macos", "yaml")
    assert markdown_tables("| a | b |\n|---|:---:|\n| 1 | 2 |\n\ntext\n\n|  |\n|---|\n|  |\n") == 1


@pytest.mark.parametrize("name", FAST)
def test_our_reader_finds_every_phrase(name: str) -> None:
    expectation = _expectation(name)
    got = score("ours", expectation)
    assert got["error"] is None
    assert got["found"] == len(expectation.phrases) > 0
    assert got["tables"] == (1 if name.endswith(".csv") else 0)
    assert got["cpu_s"] >= 0


@pytest.mark.parametrize("reader", [r for r in READERS if r != "ours"])
def test_a_peer_reads_the_csv_when_installed(reader: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec(reader) is None:
        why = missing(reader)
        assert why and "not installed" in why
        pytest.skip(f"{reader} is not installed (the bench extra)")
    monkeypatch.setenv("KREUZBERG_CACHE_DIR", str(tmp_path))
    got = score(reader, _expectation("office/FY09_EDU_Recipients_by_State.csv"))
    assert (got["error"], got["found"], got["tables"]) == (None, 4, 1)


def test_run_in_child_processes_prints_a_table(tmp_path: Path) -> None:
    (tmp_path / "office").mkdir()
    sources = json.loads((REALWORLD / "office" / "sources.json").read_text())
    (tmp_path / "office" / "sources.json").write_text(json.dumps(
        [s for s in sources if f"office/{s['file']}" in FAST]))
    for name in FAST:
        shutil.copy(REALWORLD / name, tmp_path / name)
    results = run_formats(repeats=1, readers=["ours"], root=tmp_path)
    rows = {row["format"]: row for row in summarize(results)}
    assert rows["overall"]["ours"]["read"] == 2
    assert rows["overall"]["ours"]["found"] == rows["overall"]["phrases"] == 7
    assert rows["csv"]["ours"]["tables"] == 1
    assert "| **overall** | 2 | 7 | 2/2 · 7/7 · 1 · " in table(results)
