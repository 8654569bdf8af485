"""Full-text search in the records layer, on SQLite (FTS5) and PostgreSQL (tsvector + GIN):
ranking, one order on both backends, hostile queries, an index that follows every write, and
migration 0005 building it for records already there."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic import command

from fileproc_dagster.storage.database import alembic_config
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.search import SearchError
from fileproc_dagster.storage.states import State
from support.migrated import database_at

# name, description, text: a word in a name outweighs the same word deep in a text.
DOCUMENTS = [
    ("letter_8781.png", "PNG page image, 1 page", "Dear Dr Barker, the oak staircase at "
     "47 Copper Beech Way will be measured on Friday. The quotation includes kiln-dried oak."),
    ("invoice_25037.jpg", "JPEG page image, 1 page", "INVOICE Brightwater Office Supplies. "
     "Heavy duty stapler, lever arch files, sticky notes. Total due within 30 days."),
    ("oak_survey.pdf", "PDF, 2 pages", "Survey of the woodland: ash, beech and birch."),
    ("garden_notes.txt", "text, 1 page", "Garden committee notes. Compost bins, the old oak "
     "tree by the gate, and the beech hedge. Oak leaves and oak acorns to be raked."),
    ("memo.docx", "Word document, 1 page", "Memo: the staircase survey is postponed; "
     "the surveyor will call. Résumé attached. Naïve café prices, 3.5% VAT, e-mail x@y.org"),
    ("recording.wav", "WAV audio, 12.0 s", "Hello, this is a short test recording. "
     "The delivery will arrive on Monday morning between nine and eleven."),
]
HOSTILE = ['"', "'", '""', "*", "oak*", '"oak', "oak OR beech", "NOT oak", "oak AND",
           "NEAR(oak beech)", "name:oak", "{name}: oak", "^oak", "-oak", "oak & beech | !ash",
           "'oak':*", "oak<->beech", "%", "_", "\\", "oak; DROP TABLE files; --", "(", ")",
           "\x00oak", "a" * 5000, "oak " * 40, "ÿ\u202e\U0001f600", "select * from files"]


def _add(records: Records, name: str, description: str, text: str, n: int) -> str:
    key = f"{Path(name).stem}-{n:012x}"
    records.uploads.receive(key, name, f"{n:064x}", 100 + n, n)
    records.files.insert(key, State.STORED, type="document", mime="text/plain",
                         location="file:///x")
    records.files.advance(key, State.DESCRIBED, description=description, text=text)
    return key


def _fill(records: Records) -> dict[str, str]:
    return {name: _add(records, name, description, text, n)
            for n, (name, description, text) in enumerate(DOCUMENTS, start=1)}


def _names(records: Records, query: str, limit: int = 20) -> list[str]:
    return [r.name for r in records.files.search(query, limit=limit)]


def test_a_word_only_one_record_holds_ranks_it_first(records: Records) -> None:
    _fill(records)
    assert _names(records, "stapler") == ["invoice_25037.jpg"]
    assert _names(records, "BARKER") == ["letter_8781.png"]  # any case
    assert _names(records, "résumé") == ["memo.docx"]  # letters beyond ASCII
    assert _names(records, "delivery monday")[0] == "recording.wav"  # every word must occur
    assert _names(records, "delivery staircase") == []


def test_the_name_outweighs_the_text_and_more_mentions_rank_higher(records: Records) -> None:
    _fill(records)
    assert _names(records, "oak") == ["oak_survey.pdf", "garden_notes.txt", "letter_8781.png"]
    assert _names(records, "survey")[0] == "oak_survey.pdf"
    assert _names(records, "oak", limit=1) == ["oak_survey.pdf"]


def test_the_same_data_gives_the_same_order_on_sqlite_and_postgresql(
        postgres: Any, tmp_path: Path) -> None:
    url = postgres.new_schema()
    try:
        lite, pg = Records(f"sqlite:///{tmp_path / 'records.db'}"), Records(url)
        for records in (lite, pg):
            _fill(records)
            # Ties (the same words, the same lengths) are broken the same way too.
            for n in range(10, 16):
                _add(records, f"copy_{n}.txt", "text", "identical beech words", n)
        for query in ("oak", "beech", "survey", "the", "identical beech", "staircase oak",
                      "e mail", "3 5", "nine eleven", "page image", "x y org"):
            assert _names(lite, query) == _names(pg, query), query
            assert _names(lite, query, limit=3) == _names(pg, query, limit=3), query
        beech = _names(lite, "beech")
        first = beech.index("copy_10.txt")  # equal scores, in key order
        assert beech[first:first + 6] == [f"copy_{n}.txt" for n in range(10, 16)]
        assert len(beech) == 9
    finally:
        postgres.drop_schema(url)


def test_hostile_queries_give_results_or_a_clear_error(records: Records) -> None:
    _fill(records)
    for query in HOSTILE:
        try:
            found = records.files.search(query)
        except SearchError as exc:
            assert "search" in str(exc), query
        else:
            assert all(r.state == State.DESCRIBED for r in found), query
    assert _names(records, '"oak') == _names(records, "oak*") == _names(records, "oak")
    assert _names(records, "oak; DROP TABLE files; --") == []
    assert len(records.files.all()) == len(DOCUMENTS)
    for empty in ("", "   ", "*", '""', "%_-"):
        with pytest.raises(SearchError, match="nothing to search for"):
            records.files.search(empty)
    with pytest.raises(SearchError, match="at most 32 words"):
        records.files.search(" ".join(f"w{n}" for n in range(40)))
    for limit in (0, -1, 2.5, True):
        with pytest.raises(SearchError, match="number of results"):
            records.files.search("oak", limit=limit)  # type: ignore[arg-type]


def test_the_index_follows_every_write(records: Records) -> None:
    keys = _fill(records)
    key = keys["recording.wav"]
    assert _names(records, "recording") == ["recording.wav"]  # name and text
    records.files.advance(key, State.DESCRIBED, description="WAV audio",
                          text="A different transcript about lighthouses.")
    assert _names(records, "lighthouses") == ["recording.wav"]
    assert _names(records, "delivery") == []  # the old text is gone from the index
    assert _names(records, "recording") == ["recording.wav"]  # the name still holds it
    records.files.fail(key, "broken")  # an error is not searched; the record still is
    assert _names(records, "lighthouses") == ["recording.wav"]
    refused = records.uploads.refuse("odd-entry-1", "odd entry.pipe", "f" * 64, 0, 1,
                                     "a named pipe", {})
    assert [r.key for r in records.files.search("odd pipe")] == [refused.key]


def test_migration_0005_indexes_the_records_already_there(
        new_db_url: Callable[[], str]) -> None:
    url = new_db_url()
    database_at(url, "0003", "an archived kingfisher report")  # the schema before search
    records = Records(url)  # migrated to the head on first use
    assert [r.key for r in records.files.search("kingfisher")] == ["old-1"]
    with records.db.engine.begin() as conn:  # down and up again: rebuilt from scratch
        command.downgrade(alembic_config(conn), "0003")
        command.upgrade(alembic_config(conn), "head")
    assert [r.key for r in records.files.search("kingfisher archived")] == ["old-1"]
