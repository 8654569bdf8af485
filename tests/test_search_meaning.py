"""Search by meaning in the records layer, on SQLite and PostgreSQL: passages with places kept
by every write, paraphrases found where words are not, fusion, one order on both backends,
records near a record, the re-index, and migration 0009 embedding the records already there."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from fileproc_dagster.storage.finding import fuse, together
from fileproc_dagster.storage.passages import reindex
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.schema import passages
from fileproc_dagster.storage.search import SearchError
from fileproc_dagster.storage.states import State
from support.migrated import database_at

CALL = [{"start": 0.0, "end": 30.5, "text": "Good morning everyone and welcome to the weekly "
         "planning call. We will go through the roadmap first: the new mobile app ships in "
         "June, the website redesign slips to August, and the search feature needs two more "
         "weeks of testing before anyone outside the team sees it."},
        {"start": 30.5, "end": 62.0, "text": "Next item is the budget: marketing asked for more "
         "money for the autumn campaign, and the office move will cost more than planned "
         "because the new lease starts a month early. Please send your estimates by Friday."}
        ] + [
        {"start": 62.0 + 10 * n, "end": 72.0 + 10 * n, "text": text} for n, text in enumerate([
            "Let us talk about the customer in Leeds.", "They still have not paid us.",
            "Their bill was due in March and nothing came.", "Finance will phone them today."])]
# name, description, text, markdown, details
DOCUMENTS = [
    ("reminder.eml", "e-mail", "Dear customer, your payment is thirty days late. Please settle "
     "the amount due on account 4471 this week.", None, None),
    ("dog.txt", "text, 1 page", "A brown dog runs across the green meadow chasing a red ball.",
     None, None),
    ("report.pdf", "PDF document, 2 pages", "Revenue Quarterly revenue grew by twelve percent. "
     "Staff We hired four engineers and a designer in Berlin.",
     "<!-- page 1 -->\n\n# Revenue\n\nQuarterly revenue grew by twelve percent.\n\n"
     "<!-- page 2 -->\n\n# Staff\n\nWe hired four engineers and a designer in Berlin.", None),
    ("call.wav", "WAV audio, 1.7 min", " ".join(s["text"] for s in CALL), None,
     {"segments": CALL}),
    ("recipe.md", "Markdown, 1 page", "Whisk the eggs with sugar, fold in flour, bake for "
     "forty minutes at 180 degrees.", None, None),
]


def _fill(records: Records) -> dict[str, str]:
    keys = {}
    for n, (name, description, text, markdown, details) in enumerate(DOCUMENTS, start=1):
        key = f"{Path(name).stem}-{n:012x}"
        records.uploads.receive(key, name, f"{n:064x}", 100 + n, n)
        records.files.insert(key, State.STORED, type="document", mime="text/plain",
                             location=f"file:///store/{name}")
        records.files.advance(key, State.DESCRIBED, description=description, text=text,
                              markdown=markdown, details=details)
        keys[name] = key
    return keys


def _found(records: Records, query: str, mode: str = "hybrid", limit: int = 5) -> list[Any]:
    return [(r.name, hit.place) for r, hit in records.files.find(query, limit, mode)]


def test_a_paraphrase_is_found_by_meaning_where_words_find_nothing(records: Records) -> None:
    _fill(records)
    assert _found(records, "overdue invoice", "words") == []
    # The mail, and the minute of the call where an unpaid bill is spoken of.
    assert set(_found(records, "overdue invoice")[:2]) == {("reminder.eml", "words 1–18"),
                                                           ("call.wav", "1:02–1:42")}
    assert set(_found(records, "overdue invoice", "meaning")[:2]) == \
        set(_found(records, "overdue invoice")[:2])
    assert _found(records, "new employees joined the team")[0] == (
        "report.pdf", "page 2 · Staff")
    assert _found(records, "baking a cake")[0][0] == "recipe.md"


def test_a_spoken_passage_is_found_at_its_minute(records: Records) -> None:
    _fill(records)
    found = records.files.find("the customer in Leeds never paid their bill", 5, "meaning")
    hit = next(hit for record, hit in found if record.name == "call.wav")
    assert (hit.place, hit.start_s, hit.end_s) == ("1:02–1:42", 62.0, 102.0)
    assert "paid" in (hit.passage or "")


def test_words_only_search_names_the_passage_holding_the_words(records: Records) -> None:
    _fill(records)
    assert _found(records, "engineers Berlin", "words") == [("report.pdf", "page 2 · Staff")]
    assert _found(records, "engineers") == _found(records, "engineers", "hybrid")
    assert _found(records, "engineers")[0] == ("report.pdf", "page 2 · Staff")
    for mode, limit in (("fuzzy", 5), ("words", 0)):
        with pytest.raises(SearchError):
            records.files.find("oak", limit, mode)
    with pytest.raises(SearchError, match="nothing to search for"):
        records.files.find("***")


def test_reciprocal_rank_fusion_rewards_being_high_in_both_orders() -> None:
    scores = fuse([["a", "b", "c"], ["b", "d", "a"]])
    assert sorted(scores, key=lambda k: (-scores[k], k)) == ["b", "a", "d", "c"]
    assert scores["b"] == pytest.approx(1 / 61 + 1 / 62) and scores["c"] == 1 / 63


def test_passages_follow_every_write(records: Records) -> None:
    keys = _fill(records)
    key = keys["dog.txt"]
    records.files.advance(key, State.DESCRIBED, text="The lighthouse keeper climbs the tower.")
    assert _found(records, "a person who tends a lighthouse", "meaning")[0][0] == "dog.txt"
    with records.db.transaction() as conn:
        texts = list(conn.execute(sa.select(passages.c.text).where(passages.c.key == key))
                     .scalars())
    assert texts == ["dog.txt: text, 1 page", "The lighthouse keeper climbs the tower."]
    records.files.advance(key, State.DONE)  # no text written: the passages stay
    records.files.fail(key, "broken")
    assert _found(records, "a person who tends a lighthouse", "meaning")[0][0] == "dog.txt"
    with records.db.transaction() as conn:
        counted = conn.execute(sa.select(sa.func.count()).select_from(passages).where(
            passages.c.key == key)).scalar_one()
    assert counted == 2  # name and description, then the text


def test_similar_lists_the_records_near_one(records: Records) -> None:
    keys = _fill(records)
    records.uploads.receive("second-reminder-1", "second.eml", "e" * 64, 1, 99)
    records.files.insert("second-reminder-1", State.DESCRIBED, description="e-mail",
                         text="Reminder: the invoice for account 4471 is still unpaid.")
    near = records.files.similar(keys["reminder.eml"], limit=3)
    assert near[0][0].key == "second-reminder-1"
    assert keys["reminder.eml"] not in [r.key for r, _ in near]
    assert records.files.similar("no-such-key") == []


def test_the_same_data_gives_the_same_order_on_sqlite_and_postgresql(
        postgres: Any, tmp_path: Path) -> None:
    url = postgres.new_schema()
    try:
        lite, pg = Records(f"sqlite:///{tmp_path / 'records.db'}"), Records(url)
        for records in (lite, pg):
            _fill(records)
        for query in ("overdue invoice", "money", "dog", "team members", "eggs", "the call"):
            for mode in ("hybrid", "meaning", "words"):
                assert _found(lite, query, mode) == _found(pg, query, mode), (query, mode)
        key = lite.files.all()[0].key
        assert [(r.key, h.score) for r, h in lite.files.similar(key)] == \
            [(r.key, h.score) for r, h in pg.files.similar(key)]
    finally:
        postgres.drop_schema(url)


def test_reindex_embeds_again_and_migration_0009_embeds_what_is_there(
        new_db_url: Callable[[], str]) -> None:
    url = new_db_url()
    # The schema before passages.
    database_at(url, "0008", "The kingfisher dived into the river for a fish.")
    records = Records(url)  # migrated to the head on first use
    assert _found(records, "a bird catching fish", "meaning") == [("old.pdf", "words 1–9")]
    with records.db.transaction() as conn:
        conn.execute(sa.delete(passages))
    assert _found(records, "a bird catching fish", "meaning") == []
    assert reindex(records.db) == 1
    assert _found(records, "a bird catching fish", "meaning") == [("old.pdf", "words 1–9")]


def test_hybrid_counts_words_found_together_in_one_passage(records: Records) -> None:
    _fill(records)
    records.uploads.receive("book-1", "payment_book.txt", "b" * 64, 1, 77)
    records.files.insert("book-1", State.DESCRIBED, description="text",
                         text="The train was late.")
    words = [name for name, _ in _found(records, "late payment", "words")]
    assert words == ["payment_book.txt", "reminder.eml"]  # a word in the name weighs most
    # In hybrid search words in two passages (the name, the text) count for nothing: the
    # mail, whose one passage holds both, comes first; the book stays findable, after it.
    hybrid = [name for name, _ in _found(records, "late payment", limit=10)]
    assert hybrid[0] == "reminder.eml" and "payment_book.txt" in hybrid[1:]
    keys = [r.key for r in records.files.search("late payment")]
    with records.db.transaction() as conn:
        assert together(conn, keys, ["late", "payment"]) == [keys[1]]  # the mail alone


def test_the_copy_of_the_vectors_follows_additions_and_rewrites(records: Records) -> None:
    from fileproc_dagster.storage.vectors import _held

    _fill(records)
    question = "a person who keeps a lighthouse"
    assert "tower.txt" not in [n for n, _ in _found(records, question, "meaning")]
    records.uploads.receive("tower-1", "tower.txt", "c" * 64, 1, 55)
    records.files.insert("tower-1", State.DESCRIBED, description="text",
                         text="The lighthouse keeper climbs the tower every night.")
    assert _found(records, question, "meaning")[0][0] == "tower.txt"  # rows appended
    records.files.advance("tower-1", State.DESCRIBED, text="Whisk eggs and sugar.")
    assert "tower.txt" not in [n for n, _ in _found(records, question, "meaning", 2)]
    held = _held[records.db.engine]
    with records.db.transaction() as conn:
        stored = conn.execute(sa.select(passages.c.id).order_by(passages.c.id)).scalars().all()
    assert held.ids.tolist() == stored and held.matrix.shape == (len(stored), 384)
