"""Search by words, by meaning, or both: records with the passage that matched and its place.

``words`` ranks by BM25F (``search.py``); ``meaning`` by the cosine similarity of the query's
vector to each record's nearest passage (``vectors.py``); ``hybrid`` (the default) fuses the
two orders by reciprocal rank fusion: a record scores 1/(60 + its rank) in each order it is
in. A record found by words counts there only when one of its passages holds them all (in
a book every common word occurs somewhere); the others come after every fused record. Ties
go to the record holding the query's words, then by key, so SQLite and PostgreSQL give the
same order. Each hit names its passage: the nearest one to the query, or in
words-only search the one holding most of its words.

Example::

    for hit in find(db, "late payment", limit=5):
        print(hit.key, hit.place, hit.passage[:80])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from fileproc_dagster.storage import passages as stored
from fileproc_dagster.storage import search as fulltext
from fileproc_dagster.storage.database import Database

MODES = ("hybrid", "words", "meaning")
RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al., 2009)
POOL = 100  # records taken from each order before fusing
CLOSE = 20  # records found by words whose passages hybrid search reads (see ``together``)
# A passage less similar than this to the query is no match (unrelated English sentences
# score about 0 to 0.15 with this model, paraphrases 0.4 and more).
MIN_SIMILARITY = 0.2


@dataclass(frozen=True)
class Hit:
    """One found record: its key, the passage that matched, where it is, and the score."""

    key: str
    score: float
    place: str | None = None
    passage: str | None = None
    page: int | None = None
    start_s: float | None = None
    end_s: float | None = None


def _check(mode: str, limit: int) -> None:
    if mode not in MODES:
        raise fulltext.SearchError(f"a search mode is one of {', '.join(MODES)}, "
                                   f"not {mode!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise fulltext.SearchError(f"the number of results must be a whole number from 1, "
                                   f"not {limit!r}")


def _near(db: Database, conn: Connection, vector: Any, pool: int) -> list[tuple[str, int, float]]:
    from fileproc_dagster.storage.vectors import nearest

    found = nearest(db.engine, conn, vector, pool)
    return [near for near in found if near[2] >= MIN_SIMILARITY]


def _embedded(query: str) -> Any:
    from fileproc_dagster.meaning.embedder import embed

    return embed([query])[0]


def fuse(orders: Sequence[Sequence[str]], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal rank fusion of ranked key lists: key -> sum of 1 / (k + rank from 1)."""
    scores: dict[str, float] = {}
    for order in orders:
        for rank, key in enumerate(order, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    return scores


def _worded(rows: list[Any], terms: Sequence[str]) -> Any:
    """The passage holding most of the query's words (the first on a tie)."""
    wanted = set(terms)

    def held(row: Any) -> int:
        return len(wanted & set(fulltext.words(row.text)))

    return max(rows, key=held, default=None)


def together(conn: Connection, keys: list[str], terms: Sequence[str]) -> list[str]:
    """The records with a passage holding every term, in order: in a long text every common
    word occurs somewhere, and a match scattered over a book says little."""
    wanted = set(terms)
    rows = stored.places(conn, keys)
    return [key for key in keys
            if any(wanted <= set(fulltext.words(row.text)) for row in rows[key])]


def find(db: Database, query: str, limit: int = 20, mode: str = "hybrid") -> list[Hit]:
    """The records best matching ``query`` in ``mode``, best first, at most ``limit``."""
    _check(mode, limit)
    terms = fulltext.query_words(query)
    pool = max(POOL, limit)
    # The query is embedded before the transaction opens: none is held while the model runs.
    vector = None if mode == "words" else _embedded(query)
    with db.transaction() as conn:
        worded = fulltext.ranked(conn, query, pool) if mode != "meaning" else []
        near = _near(db, conn, vector, pool) if vector is not None else []
        if mode == "words":
            scores = {key: 1.0 / (RRF_K + rank) for rank, key in enumerate(worded, start=1)}
        elif mode == "meaning":
            scores = {key: score for key, _, score in near}
        else:
            close = together(conn, worded[:CLOSE], terms)
            scores = fuse([close, [key for key, _, _ in near]])
            # The others found by words stay findable, after every fused record.
            scattered = [key for key in worded if key not in scores]
            scores.update({key: 1.0 / (RRF_K + 2 * pool + rank)
                           for rank, key in enumerate(scattered, start=1)})
        # A tie goes to the record holding the query's words, then by key.
        word_rank = {key: rank for rank, key in enumerate(worded)}
        keys = sorted(scores, key=lambda key: (-scores[key], word_rank.get(key, pool),
                                              key))[:limit]
        nearest = {key: ordinal for key, ordinal, _ in near}
        rows = stored.places(conn, keys, nearest)
    hits = []
    for key in keys:
        ordinal = nearest.get(key)
        row = (next((r for r in rows[key] if r.ordinal == ordinal), None)
               if ordinal is not None else _worded(rows[key], terms))
        hits.append(_hit(key, scores[key], row))
    return hits


def similar(db: Database, key: str, limit: int = 10) -> list[Hit]:
    """The records nearest in meaning to record ``key`` (its passages' mean vector), with
    each one's nearest passage; none when it has no passages."""
    _check("meaning", limit)
    from fileproc_dagster.storage.vectors import centroid, nearest

    with db.transaction() as conn:
        middle = centroid(conn, key)
        if middle is None:
            return []
        near = nearest(db.engine, conn, middle, limit, exclude=key)
        rows = stored.places(conn, [k for k, _, _ in near], {k: o for k, o, _ in near})
    return [_hit(k, score, next((r for r in rows[k] if r.ordinal == ordinal), None))
            for k, ordinal, score in near]


def _hit(key: str, score: float, row: Any) -> Hit:
    if row is None:
        return Hit(key, score)
    return Hit(key, score, row.place, row.text, row.page, row.start_s, row.end_s)
