"""Ranked full-text search over the records' name, description and text.

Finding uses the database's own index: the FTS5 table ``files_fts`` on SQLite, the weighted
``tsvector`` column ``files.search`` (GIN index) on PostgreSQL. Both are given the same words,
cut here by one tokenizer (runs of letters and digits, lower-cased), and a query is cut the
same way into words that must all occur: what a user types never reaches either backend's
query syntax, and both find the same records.

The order is one score computed here for both backends, BM25F over the three fields (a word
in the name weighs 3, in the description 2, in the text 1), with ties broken by key: the same
data gives the same order on SQLite and PostgreSQL. The backend's own rank only chooses which
``POOL`` records are scored when more than that match.

The records layer keeps the index in step (``reindex`` in the same transaction as every write
of a name, description or text); migration 0005 builds it for existing records (``rebuild``).

Example::

    records.files.search("staircase oak", limit=5)   # Records, best first
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql  # noqa: F401  (registers func.to_tsvector & co.)
from sqlalchemy.engine import Connection

from fileproc_dagster.errors import FileprocError
from fileproc_dagster.storage.schema import files

WORD = re.compile(r"[^\W_]+")
MAX_TEXT_WORDS = 100_000  # the words of a text that are indexed: about 200 pages
MAX_WORD_CHARS = 100  # longer runs (digests, base64) are not words anyone searches for
MAX_QUERY_WORDS = 32
POOL = 200  # records scored per query; more matches are cut by the backend's own rank
WEIGHTS = {"name": 3.0, "description": 2.0, "text": 1.0}
K1, B = 1.2, 0.75
_BATCH = 200

# The index as the statements see it (made by ``schema.SEARCH_DDL``): FTS5's table, and on
# PostgreSQL the ``search`` column, which the records' own statements never read.
fts = sa.table("files_fts", *(sa.column(c) for c in ("rowid", "key", "name", "description",
                                                     "text")))
# FTS5's MATCH and bm25() take the table itself.
FTS: sa.ColumnClause[Any] = sa.literal_column("files_fts")
rows = sa.table("files", sa.column("rowid"), sa.column("key"), sa.column("search"))
_BINDS: dict[str, sa.BindParameter[Any]] = {
    field: sa.bindparam(f"b_{field}") for field in ("key", "name", "description", "text")}
_SQLITE_DELETE = sa.delete(fts).where(fts.c.rowid == sa.select(rows.c.rowid).where(
    rows.c.key == _BINDS["key"]).scalar_subquery())
_SQLITE_INSERT = sa.insert(fts).from_select(
    ["rowid", "key", "name", "description", "text"],
    sa.select(rows.c.rowid, rows.c.key, _BINDS["name"], _BINDS["description"],
              _BINDS["text"]).where(rows.c.key == _BINDS["key"]))
_PG_VECTOR = (sa.func.setweight(sa.func.to_tsvector("simple", _BINDS["name"]), "A")
              .op("||")(sa.func.setweight(sa.func.to_tsvector("simple", _BINDS["description"]),
                                          "B"))
              .op("||")(sa.func.setweight(sa.func.to_tsvector("simple", _BINDS["text"]), "C")))
_PG_UPDATE = sa.update(rows).where(rows.c.key == _BINDS["key"]).values(search=_PG_VECTOR)


def _finder(conn: Connection, match: str, pool: int | None) -> sa.Select[Any]:
    """Keys of the records matching ``match`` by the backend's rank, or (no pool) a count."""
    if conn.dialect.name == "postgresql":
        query = sa.func.plainto_tsquery("simple", match)
        found = rows.c.search.op("@@")(query)
        if pool is None:
            return sa.select(sa.func.count()).select_from(rows).where(found)
        return (sa.select(rows.c.key).where(found).limit(pool)
                .order_by(sa.func.ts_rank(rows.c.search, query).desc(), rows.c.key))
    found = FTS.op("MATCH")(match)
    if pool is None:
        return sa.select(sa.func.count()).select_from(fts).where(found)
    return (sa.select(fts.c.key).where(found).limit(pool)
            .order_by(sa.func.bm25(FTS, 0.0, 3.0, 2.0, 1.0), fts.c.key))


class SearchError(FileprocError, ValueError):
    """A query that cannot be searched (no words in it, too many), said in words."""


def words(text: str | None, limit: int | None = None) -> list[str]:
    """The searchable words of ``text``, lower-cased, in order (the first ``limit``)."""
    found: list[str] = []
    for match in WORD.finditer((text or "").lower()):
        if len(match.group()) <= MAX_WORD_CHARS:
            found.append(match.group())
            if limit is not None and len(found) >= limit:
                break
    return found


def query_words(query: str) -> list[str]:
    """The distinct words a query asks for; a query without any is a ``SearchError``."""
    if not isinstance(query, str):
        raise SearchError(f"a search query is text, not {type(query).__name__}")
    found = list(dict.fromkeys(words(query)))
    if not found:
        raise SearchError(f"nothing to search for in {query!r}: give at least one word of "
                          f"letters or digits (up to {MAX_WORD_CHARS} characters)")
    if len(found) > MAX_QUERY_WORDS:
        raise SearchError(f"a search takes at most {MAX_QUERY_WORDS} words, "
                          f"not {len(found)}")
    return found


def _fields(row: Any) -> dict[str, list[str]]:
    return {"name": words(row.name), "description": words(row.description),
            "text": words(row.text, MAX_TEXT_WORDS)}


def _write(conn: Connection, documents: Sequence[Any]) -> None:
    entries = [{"b_key": row.key, **{f"b_{field}": " ".join(cut)
                                      for field, cut in _fields(row).items()}}
               for row in documents]
    if not entries:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(_PG_UPDATE, entries)
    else:
        conn.execute(_SQLITE_DELETE, [{"b_key": e["b_key"]} for e in entries])
        conn.execute(_SQLITE_INSERT, entries)


def _documents(conn: Connection, keys: Sequence[str]) -> list[Any]:
    return list(conn.execute(sa.select(files.c.key, files.c.name, files.c.description,
                                       files.c.text).where(files.c.key.in_(keys))))


def reindex(conn: Connection, keys: Sequence[str]) -> None:
    """Index these records' current name, description and text (in the caller's transaction)."""
    _write(conn, _documents(conn, keys))


def rebuild(conn: Connection) -> int:
    """Index every record afresh; returns how many were indexed."""
    if conn.dialect.name == "sqlite":
        conn.execute(sa.delete(fts))
    done, after = 0, ""
    while True:
        keys = list(conn.execute(sa.select(files.c.key).where(files.c.key > after)
                                 .order_by(files.c.key).limit(_BATCH)).scalars())
        if not keys:
            return done
        _write(conn, _documents(conn, keys))
        done, after = done + len(keys), keys[-1]


def _match(conn: Connection, terms: Sequence[str]) -> str:
    """The backend's query for records holding every term (terms are letters and digits)."""
    if conn.dialect.name == "postgresql":
        return " ".join(terms)
    return " ".join(f'"{term}"' for term in terms)


def _count(conn: Connection, terms: Sequence[str]) -> int:
    return int(conn.execute(_finder(conn, _match(conn, terms), None)).scalar_one())


def bm25f(terms: Sequence[str], documents: dict[str, dict[str, list[str]]],
          frequency: dict[str, int], total: int) -> dict[str, float]:
    """BM25F scores of ``documents`` (fields of words by key) for ``terms``.

    ``frequency`` is how many records hold each term, of ``total``; field lengths are
    normalised by their average over the documents scored.
    """
    average = {field: sum(len(d[field]) for d in documents.values()) / len(documents) or 1.0
               for field in WEIGHTS}
    scores: dict[str, float] = {}
    for key, fields in documents.items():
        counts = {field: Counter(fields[field]) for field in WEIGHTS}
        score = 0.0
        for term in terms:
            weighted = sum(weight * counts[field][term]
                           / (1 - B + B * len(fields[field]) / average[field])
                           for field, weight in WEIGHTS.items())
            held = frequency[term]
            idf = math.log(1 + (total - held + 0.5) / (held + 0.5))
            score += idf * weighted / (K1 + weighted)
        scores[key] = score
    return scores


def ranked(conn: Connection, query: str, limit: int) -> list[str]:
    """Keys of the records holding every word of ``query``, best first, at most ``limit``."""
    terms = query_words(query)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise SearchError(f"the number of results must be a whole number from 1, "
                          f"not {limit!r}")
    pool = list(conn.execute(_finder(conn, _match(conn, terms), max(POOL, limit))).scalars())
    if not pool:
        return []
    documents = {row.key: _fields(row) for row in _documents(conn, pool)}
    total = int(conn.execute(sa.select(sa.func.count()).select_from(files)).scalar_one())
    frequency = {term: _count(conn, [term]) for term in terms}
    scores = bm25f(terms, documents, frequency, total)
    return sorted(scores, key=lambda key: (-scores[key], key))[:limit]
