"""The passages of the records, with their vectors, kept in step with the records' text.

A write of a record's name, description, text, Markdown or details replaces its passages in
the same transaction (``Files``); the passages are cut and embedded before the transaction
opens (``prepare``), so no lock is held while the model runs. Migration 0009 embeds the
records already there (``rebuild``), ``fileproc reindex`` embeds them again (``reindex``).

Example::

    rows = prepare({"name": "a.txt", "description": "text", "text": "Rent is late."})
    with db.transaction() as conn:
        replace(conn, key, rows)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fileproc_dagster.storage.database import Database
from fileproc_dagster.storage.schema import files, passages

log = logging.getLogger(__name__)

# The record fields passages are cut from: a write of any of them cuts them again.
SOURCES = ("name", "description", "text", "markdown", "details")
TRIGGERS = frozenset(SOURCES) - {"name"}  # a record gets its name once, with its content
_BATCH = 50  # records embedded together by ``rebuild``

Rows = list[dict[str, Any]]


def prepare(fields: Mapping[str, Any]) -> Rows:
    """The passage rows (without key) of a record with these ``SOURCES`` fields."""
    from fileproc_dagster.meaning.embedder import as_bytes, embed
    from fileproc_dagster.meaning.passages import passages as cut

    details = fields.get("details")
    found = cut(fields.get("name"), fields.get("description"), fields.get("text"),
                fields.get("markdown"), details if isinstance(details, Mapping) else None)
    if not found:
        return []
    vectors = embed([p.text for p in found])
    return [{"ordinal": p.ordinal, "place": p.place, "page": p.page, "start_s": p.start_s,
             "end_s": p.end_s, "text": p.text, "vector": as_bytes(vector)}
            for p, vector in zip(found, vectors, strict=True)]


def written(values: Mapping[str, Any], current: Mapping[str, Any]) -> Rows | None:
    """The passage rows after a write of ``values`` over a record's ``current`` fields; None
    when the write changes no field they are cut from (its passages stay)."""
    if not (TRIGGERS & values.keys()):
        return None
    return prepare({f: values[f] if f in values else current.get(f) for f in SOURCES})


def replace(conn: Connection, key: str, rows: Rows) -> None:
    """Make ``rows`` the passages of ``key`` (in the caller's transaction)."""
    conn.execute(sa.delete(passages).where(passages.c.key == key))
    if rows:
        conn.execute(sa.insert(passages), [{"key": key, **row} for row in rows])


def _in_batches(fetch: Callable[[sa.Select[Any]], list[Any]], keys: Sequence[str] | None,
                *columns: Any) -> Iterator[list[Any]]:
    """The records (all when ``keys`` is None) with their key, ``columns`` and ``SOURCES``
    fields, ``_BATCH`` at a time in key order, each batch read by ``fetch``."""
    query = sa.select(files.c.key, *columns, *(files.c[f] for f in SOURCES))
    if keys is not None:
        query = query.where(files.c.key.in_(list(keys)))
    after = ""
    while batch := fetch(query.where(files.c.key > after).order_by(files.c.key).limit(_BATCH)):
        yield batch
        after = batch[-1].key


def _prepared(row: Any) -> Rows:
    return prepare({f: row._mapping[f] for f in SOURCES})


def rebuild(conn: Connection) -> int:
    """Cut and embed every record afresh, in the caller's transaction (a migration); returns
    how many were done."""
    done = 0
    for batch in _in_batches(lambda query: list(conn.execute(query)), None):
        for row in batch:
            replace(conn, row.key, _prepared(row))
        done += len(batch)
        log.info("passages of %d records embedded", done)
    return done


def reindex(db: Database, keys: Sequence[str] | None = None,
            progress: Callable[[int], None] | None = None) -> int:
    """``rebuild`` for a live database: each batch is embedded outside any transaction, then
    written in one of its own (a record written meanwhile keeps its newer passages)."""
    def fetch(query: sa.Select[Any]) -> list[Any]:
        with db.transaction() as conn:
            return list(conn.execute(query))

    done = 0
    for batch in _in_batches(fetch, keys, files.c.updated_at):
        prepared = [(row.key, row.updated_at, _prepared(row)) for row in batch]
        with db.transaction() as conn:
            for key, updated_at, rows in prepared:
                if conn.execute(sa.select(files.c.updated_at).where(
                        files.c.key == key)).scalar_one_or_none() == updated_at:
                    replace(conn, key, rows)
        done += len(batch)
        if progress is not None:
            progress(done)
    return done


def places(conn: Connection, keys: Sequence[str],
           ordinals: Mapping[str, int] | None = None) -> dict[str, list[Any]]:
    """The passages of these records without their vectors, in order, by key: all of them,
    or for a key in ``ordinals`` only the one with that ordinal."""
    found: dict[str, list[Any]] = {key: [] for key in keys}
    ordinals = ordinals or {}
    whole = [key for key in keys if key not in ordinals]
    one = [(key, ordinals[key]) for key in keys if key in ordinals]
    columns = (passages.c.key, passages.c.ordinal, passages.c.place, passages.c.page,
               passages.c.start_s, passages.c.end_s, passages.c.text)
    for where in ([passages.c.key.in_(whole)] if whole else []) + (
            # Pairs of equalities, which both databases answer from the (key, ordinal) index.
            [sa.or_(*(sa.and_(passages.c.key == key, passages.c.ordinal == ordinal)
                      for key, ordinal in one))] if one else []):
        for row in conn.execute(sa.select(*columns).where(where)
                                .order_by(passages.c.key, passages.c.ordinal)):
            found[row.key].append(row)
    return found
