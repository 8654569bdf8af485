"""The ``files`` table: one record per file content, moved through its states.

Every write is keyed by the partition key, so a retried step rewrites the same row; the state
machine (``states.py``) decides which moves are allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from fileproc_dagster.storage.database import Database
from fileproc_dagster.storage.schema import files
from fileproc_dagster.storage.states import END, UNFINISHED, State, check

T = TypeVar("T")


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

    def as_json(self) -> dict[str, Any]:
        """The fields of ``fileproc records --json``."""
        return {f: getattr(self, f) for f in (
            "uuid", "key", "name", "type", "size", "sha256", "location", "state",
            "description", "text", "details", "error")}


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

    def all(self, limit: int | None = None) -> list[Record]:
        """Records, newest first."""
        query = sa.select(files).order_by(files.c.created_at.desc(), files.c.key)
        with self.db.transaction() as conn:
            return [load(Record, r) for r in conn.execute(query.limit(limit))]

    def find(self, *, states: Sequence[State] = (), types: Sequence[str] = (),
             since: datetime | None = None, limit: int | None = None) -> list[Record]:
        """Records newest first, of any of ``states`` and ``types`` (all when empty), whose
        state changed at or after ``since``.

        Example::

            records.files.find(states=[State.FAILED], since=now() - timedelta(days=1))
        """
        query = sa.select(files).order_by(files.c.created_at.desc(), files.c.key)
        if states:
            query = query.where(files.c.state.in_([str(s) for s in states]))
        if types:
            query = query.where(files.c.type.in_(list(types)))
        if since is not None:
            query = query.where(files.c.updated_at >= since)
        with self.db.transaction() as conn:
            return [load(Record, r) for r in conn.execute(query.limit(limit))]

    def by_uuid(self, uuid: str) -> Record | None:
        """The record of this uuid (the id notifications and the UI show), if any."""
        with self.db.transaction() as conn:
            row = conn.execute(sa.select(files).where(files.c.uuid == uuid)).one_or_none()
        return load(Record, row) if row else None

    def states_since(self, since: datetime) -> dict[State, int]:
        """How many records reached their current state at or after ``since``, by state."""
        query = (sa.select(files.c.state, sa.func.count()).where(files.c.updated_at >= since)
                 .group_by(files.c.state))
        with self.db.transaction() as conn:
            return {State(state): int(n) for state, n in conn.execute(query)}

    def counts(self) -> dict[tuple[State, str | None], int]:
        """How many records are in each (state, type), counted by the database in one query.

        Example::

            records.files.counts()  # {(State.DONE, "document"): 2, (State.RECEIVED, None): 1}
        """
        query = (sa.select(files.c.state, files.c.type, sa.func.count())
                 .group_by(files.c.state, files.c.type))
        with self.db.transaction() as conn:
            return {(State(state), kind): int(n) for state, kind, n in conn.execute(query)}

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
        with self.db.transaction() as conn:
            current = conn.execute(sa.select(files.c.state).where(
                files.c.key == key).with_for_update()).scalar_one_or_none()
            if current is None:
                raise KeyError(f"no record for {key!r}")
            if (current != target or rewrite) and check(State(current), target):
                conn.execute(files.update().where(files.c.key == key).values(
                    state=target, updated_at=now(), **values))

    def advance(self, key: str, state: State, **values: Any) -> Record:
        """Move a record forward to ``state`` with new field values; never backwards.

        Re-applying the current state rewrites its values (a retried step); an earlier state
        than the current one is ignored, so a late retry cannot undo later work.
        """
        # PostgreSQL refuses NUL in text, and a PDF's text layer may hold one: it carries
        # nothing a reader would miss.
        clean = {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in values.items()}
        self._move(key, state, {"error": None, **clean}, rewrite=bool(values))
        record = self.get(key)
        assert record is not None
        return record

    def fail(self, key: str, reason: str, *, state: State = State.FAILED) -> None:
        """End a record in ``failed`` or ``quarantined`` with a human-readable reason."""
        if state not in END:
            raise ValueError(f"not an end state: {state!r}")
        self._move(key, state, {"error": reason}, rewrite=True)

    def reopen(self, key: str) -> None:
        """Put a failed or quarantined record back to ``received`` for reprocessing."""
        record = self.get(key)
        if record is not None and record.state.ended:
            self._move(key, State.RECEIVED, {"error": None}, rewrite=False)

    def set_object(self, key: str, *, type: str, mime: str, location: str) -> None:
        """Note what the stored object is and where, before the record is marked stored."""
        with self.db.transaction() as conn:
            conn.execute(files.update().where(files.c.key == key,
                                              files.c.state == State.RECEIVED)
                         .values(type=type, mime=mime, location=location, updated_at=now()))

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

        Keys with their last update, oldest first: what a run that died for good left behind.
        """
        query = (sa.select(files.c.key, files.c.updated_at)
                 .where(files.c.state.in_(UNFINISHED), files.c.updated_at < idle_since)
                 .order_by(files.c.updated_at).limit(limit))
        with self.db.transaction() as conn:
            return [(key, updated) for key, updated in conn.execute(query)]
