"""The ``files`` table: one record per file content, moved through its states.

The record step inserts a record for a content the intake registered (``contents``); every
write is keyed by the partition key, so a retried step rewrites the same row; the state
machine (``states.py``) decides which moves are allowed. A content not recorded yet counts as
``received``. A write of a name, description or text updates the search index (``search.py``)
in the same transaction, and a write of the text (or what it is cut from) its passages
(``passages.py``), embedded before the transaction opens.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from fileproc_dagster.storage import fields as record_fields
from fileproc_dagster.storage import finding
from fileproc_dagster.storage import passages as meaning
from fileproc_dagster.storage import search as fulltext
from fileproc_dagster.storage.database import Database
from fileproc_dagster.storage.schema import contents, files, uploads
from fileproc_dagster.storage.search import WEIGHTS
from fileproc_dagster.storage.states import END, UNFINISHED, State, check

T = TypeVar("T")
SEARCHED = frozenset(WEIGHTS)  # the fields the search index holds


@dataclass(frozen=True)
class Record:
    """One processed (or failed) file as users see it."""

    uuid: str
    key: str
    name: str
    type: str | None
    size: int
    sha256: str
    location: str | None
    state: State
    description: str | None
    text: str | None
    details: dict[str, Any] | None
    error: str | None
    mime: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    markdown: str | None = None  # the text with its structure, capped (``structure.py``)
    tables: list[dict[str, Any]] | None = None  # [{"name": ..., "rows": [[cell, ...], ...]}]
    parent_key: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The fields of ``fileproc records --json`` and ``show --json`` (``fields.py``)."""
        return {f.name: f.get(self) for f in record_fields.stored()}


@dataclass(frozen=True)
class Child:
    """A member of an archive or an attachment of a mail: its name there, its record's key,
    state and type."""

    name: str
    key: str
    state: State
    type: str | None = None


def now() -> datetime:
    return datetime.now(UTC)


def load(cls: type[T], row: sa.Row[Any]) -> T:
    """A dataclass from a row, with the columns it has fields for."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values = {k: v for k, v in row._mapping.items() if k in names}
    if cls is Record:
        values["state"] = State(values["state"])
    return cls(**values)


class Files:
    """Reads and state changes of records."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, key: str) -> Record | None:
        with self.db.transaction() as conn:
            row = conn.execute(sa.select(files).where(files.c.key == key)).one_or_none()
        return load(Record, row) if row else None

    def lookup(self, key_or_uuid: str) -> Record | None:
        """The record with this partition key or this uuid."""
        query = sa.select(files).where(sa.or_(files.c.key == key_or_uuid,
                                              files.c.uuid == key_or_uuid))
        with self.db.transaction() as conn:
            row = conn.execute(query).first()
        return load(Record, row) if row else None

    def all(self, limit: int | None = None, *, types: Sequence[str] = (),
            states: Sequence[str] = (), since: datetime | None = None,
            changed_since: datetime | None = None) -> list[Record]:
        """Records, newest first; only of these ``types`` and ``states`` when given, only
        those registered at ``since`` or later, and whose state changed at ``changed_since``
        or later.

        Example::

            records.files.all(states=[State.FAILED], changed_since=now() - timedelta(days=1))
        """
        query = sa.select(files).order_by(files.c.created_at.desc(), files.c.key)
        if types:
            query = query.where(files.c.type.in_(list(types)))
        if states:
            query = query.where(files.c.state.in_([State(s) for s in states]))
        if since is not None:
            query = query.where(files.c.created_at >= since)
        if changed_since is not None:
            query = query.where(files.c.updated_at >= changed_since)
        with self.db.transaction() as conn:
            return [load(Record, r) for r in conn.execute(query.limit(limit))]

    def children(self, key: str) -> list[Child]:
        """The members or attachments a container registered, with their records' states
        (``received`` until recorded), in the container's order."""
        query = (sa.select(uploads.c.name, uploads.c.key, files.c.state, files.c.type)
                 .select_from(uploads.outerjoin(files, files.c.key == uploads.c.key))
                 .where(uploads.c.parent_key == key).order_by(uploads.c.id))
        with self.db.transaction() as conn:
            return [Child(name, child, State(state or State.RECEIVED), kind)
                    for name, child, state, kind in conn.execute(query)]

    def states_since(self, since: datetime) -> dict[State, int]:
        """How many records reached their current state at or after ``since``, by state."""
        query = (sa.select(files.c.state, sa.func.count()).where(files.c.updated_at >= since)
                 .group_by(files.c.state))
        with self.db.transaction() as conn:
            return {State(state): int(n) for state, n in conn.execute(query)}

    def counts(self) -> dict[tuple[State, str | None], int]:
        """How many files are in each (state, type), counted by the database.

        Contents the intake registered and the record step has not reached yet are
        ``received``. Example::

            records.files.counts()  # {(State.DONE, "document"): 2, (State.RECEIVED, None): 1}
        """
        query = (sa.select(files.c.state, files.c.type, sa.func.count())
                 .group_by(files.c.state, files.c.type))
        unrecorded = sa.select(sa.func.count()).select_from(contents).where(
            ~sa.exists().where(files.c.key == contents.c.key))
        with self.db.transaction() as conn:
            counts = {(State(state), kind): int(n) for state, kind, n in conn.execute(query)}
            waiting = int(conn.execute(unrecorded).scalar_one())
        if waiting:
            received = (State.RECEIVED, None)
            counts[received] = counts.get(received, 0) + waiting
        return counts

    def search(self, query: str, limit: int = 20) -> list[Record]:
        """Records holding every word of ``query`` in their name, description or text, best
        first (see ``search.py`` for the ranking; the same on SQLite and PostgreSQL).

        Words are runs of letters and digits, matched whole and regardless of case; anything
        else in the query is ignored, and a query without a word is a ``SearchError``.

        Example::

            [r.name for r in records.files.search("oak staircase", limit=3)]
        """
        with self.db.transaction() as conn:
            keys = fulltext.ranked(conn, query, limit)
        return [record for record, _ in self._loaded([(key, None) for key in keys])]

    def _loaded(self, found: Sequence[tuple[str, T]]) -> list[tuple[Record, T]]:
        """The records of these keys, each with what came with its key, in order."""
        keys = [key for key, _ in found]
        with self.db.transaction() as conn:
            rows = {row.key: row for row in conn.execute(
                sa.select(files).where(files.c.key.in_(keys)))} if keys else {}
        return [(load(Record, rows[key]), extra) for key, extra in found if key in rows]

    def find(self, query: str, limit: int = 20, mode: str = "hybrid"
             ) -> list[tuple[Record, finding.Hit]]:
        """Records matching ``query`` by words, meaning or both (``mode``: "hybrid", "words",
        "meaning"), best first, each with the passage that matched (``finding.py``)."""
        return self._loaded([(h.key, h) for h in finding.find(self.db, query, limit, mode)])

    def similar(self, key: str, limit: int = 10) -> list[tuple[Record, finding.Hit]]:
        """Records nearest in meaning to record ``key``, nearest first."""
        return self._loaded([(h.key, h) for h in finding.similar(self.db, key, limit)])

    def processing_times(self, limit: int = 1000) -> list[tuple[str | None, float]]:
        """(type, seconds from registration to done) of the ``limit`` files done last.

        The time a file took end to end, waiting in the run queue included; only the two
        timestamps of each row are read.
        """
        query = (sa.select(files.c.type, files.c.created_at, files.c.updated_at)
                 .where(files.c.state == State.DONE)
                 .order_by(files.c.updated_at.desc()).limit(limit))
        with self.db.transaction() as conn:
            return [(kind, max(0.0, (updated - created).total_seconds()))
                    for kind, created, updated in conn.execute(query)]

    def _move(self, key: str, target: State, values: dict[str, Any], rewrite: bool) -> None:
        """Apply a checked move; staying in the same state writes ``values`` if ``rewrite``."""
        record = self.get(key) if meaning.TRIGGERS & values.keys() else None
        rows = meaning.written(values, vars(record) if record else {})
        with self.db.transaction() as conn:
            current = conn.execute(sa.select(files.c.state).where(
                files.c.key == key).with_for_update()).scalar_one_or_none()
            if current is None:
                raise KeyError(f"no record for {key!r}")
            if (current != target or rewrite) and check(State(current), target):
                conn.execute(files.update().where(files.c.key == key).values(
                    state=target, updated_at=now(), **values))
                if SEARCHED & values.keys():
                    fulltext.reindex(conn, [key])
                if rows is not None:
                    meaning.replace(conn, key, rows)

    def advance(self, key: str, state: State, **values: Any) -> Record:
        """Move a record forward to ``state`` with new field values; never backwards.

        Re-applying the current state rewrites its values (a retried step); an earlier state
        than the current one is ignored, so a late retry cannot undo later work.
        """
        self._move(key, state, {"error": None, **self._clean(values)}, rewrite=bool(values))
        record = self.get(key)
        assert record is not None
        return record

    def insert(self, key: str, state: State, **values: Any) -> Record:
        """The record of a registered content, inserted in ``state`` with ``values``.

        A record already there (a retried step, a file reopened after a failure) is advanced
        instead; a key the intake never registered is a ``KeyError``.
        """
        if self.get(key) is None:
            rows = meaning.written(self._clean(values), {"name": self._content_name(key)}
                                   ) if meaning.TRIGGERS & values.keys() else None
            try:
                with self.db.transaction() as conn:
                    content = conn.execute(sa.select(contents).where(
                        contents.c.key == key)).one_or_none()
                    if content is None:
                        raise KeyError(f"no upload was registered for {key!r}")
                    parent = conn.execute(sa.select(uploads.c.parent_key).where(
                        uploads.c.key == key).order_by(uploads.c.id).limit(1)
                    ).scalar_one_or_none()
                    conn.execute(files.insert().values(
                        parent_key=parent,
                        key=key, uuid=str(uuid.uuid4()), name=content.name, size=content.size,
                        sha256=content.sha256, state=state, created_at=content.received_at,
                        updated_at=now(), **self._clean(values)))
                    fulltext.reindex(conn, [key])
                    if rows is not None:
                        meaning.replace(conn, key, rows)
                    return load(Record, conn.execute(
                        sa.select(files).where(files.c.key == key)).one())
            except sa.exc.IntegrityError:
                pass  # inserted by another process meanwhile: advanced below
        return self.advance(key, state, **values)

    def _content_name(self, key: str) -> str | None:
        with self.db.transaction() as conn:
            return conn.execute(sa.select(contents.c.name).where(contents.c.key == key)
                                ).scalar_one_or_none()

    @staticmethod
    def _clean(values: dict[str, Any]) -> dict[str, Any]:
        # PostgreSQL refuses NUL in text, and a PDF's text layer may hold one: it carries
        # nothing a reader would miss.
        return {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in values.items()}

    def fail(self, key: str, reason: str, *, state: State = State.FAILED) -> None:
        """End a file in ``failed`` or ``quarantined`` with a human-readable reason; a file
        not recorded yet gets its record in that state (a key never registered has none)."""
        if state not in END:
            raise ValueError(f"not an end state: {state!r}")
        if self.get(key) is None:
            with suppress(KeyError):
                self.insert(key, state, error=reason)
        else:
            self._move(key, state, {"error": reason}, rewrite=True)

    def reopen(self, key: str) -> None:
        """Put a failed or quarantined record back to ``received`` for reprocessing."""
        record = self.get(key)
        if record is not None and record.state.ended:
            self._move(key, State.RECEIVED, {"error": None}, rewrite=False)

    def flag_verdicts(self, keys: list[str]) -> None:
        """Ask for single-partition runs that report these files' failures in Dagster."""
        if keys:
            with self.db.transaction() as conn:
                conn.execute(files.update().where(files.c.key.in_(keys))
                             .values(verdict_pending=True))

    def take_verdicts(self) -> list[Record]:
        """Failed records waiting for their single-partition run; the flags are cleared."""
        with self.db.transaction() as conn:
            rows = list(conn.execute(sa.select(files).where(files.c.verdict_pending)))
            if rows:
                conn.execute(files.update().where(files.c.key.in_([r.key for r in rows]))
                             .values(verdict_pending=False))
        return [load(Record, row) for row in rows]

    def stalled(self, idle_since: datetime, limit: int = 500) -> list[tuple[str, datetime]]:
        """Unfinished files (received, stored, described) untouched since ``idle_since``.

        Keys with their last update, oldest first: what a run that died for good left behind,
        contents registered but never recorded included.
        """
        recorded = (sa.select(files.c.key, files.c.updated_at.label("at"))
                    .where(files.c.state.in_(UNFINISHED), files.c.updated_at < idle_since))
        unrecorded = (sa.select(contents.c.key, contents.c.received_at.label("at"))
                      .where(contents.c.received_at < idle_since,
                             ~sa.exists().where(files.c.key == contents.c.key)))
        both = sa.union_all(recorded, unrecorded).subquery()
        query = sa.select(both.c.key, both.c.at).order_by(both.c.at).limit(limit)
        with self.db.transaction() as conn:
            return [(key, at) for key, at in conn.execute(query)]
