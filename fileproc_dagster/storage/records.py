"""The records database: one row per file content, its uploads, and the notification ledger.

SQLAlchemy Core over SQLite (embedded default) or PostgreSQL (production): the same tables and
statements. Every write is keyed by the partition key, so a retried step rewrites the same row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from fileproc_dagster.errors import TransientError

T = TypeVar("T")

# A file moves forward through these states; failed/quarantined end it until a reprocess.
STATES = ("received", "stored", "described", "done")
END_STATES = ("failed", "quarantined")

metadata = sa.MetaData()

files = sa.Table(
    "files", metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("type", sa.String(16)),
    sa.Column("mime", sa.String(128)),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("location", sa.Text),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("text", sa.Text),
    sa.Column("details", sa.JSON),
    sa.Column("error", sa.Text),
    # Set when a file failed inside a multi-file run, whose Dagster status cannot show it:
    # the sensor then requests a run of that partition alone, which reports the failure.
    sa.Column("verdict_pending", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

uploads = sa.Table(
    "uploads", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(128), sa.ForeignKey("files.key"), nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mtime_ns", sa.BigInteger, nullable=False),
    # pending -> deleted (after done) | quarantined (bad input) | gone (vanished or replaced);
    # quarantined -> released (moved back for another try, which registers a new upload)
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("duplicate", sa.Boolean, nullable=False, default=False),
    # "sensor" uploads get runs from the sensor; "process" ones are run in-process by the CLI.
    sa.Column("origin", sa.String(16), nullable=False, default="sensor"),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("name", "size", "mtime_ns", name="uq_upload_identity"),
)

notifications = sa.Table(
    "notifications", metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("event", sa.String(64), primary_key=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
)


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
    state: str
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


@dataclass(frozen=True)
class Upload:
    """One file dropped into the upload directory, mapped to the record of its content."""

    id: int
    key: str
    name: str
    size: int
    mtime_ns: int
    state: str
    duplicate: bool
    origin: str = "sensor"


@dataclass(frozen=True)
class Received:
    """The outcome of registering an upload: which record it maps to and whether it is new."""

    key: str
    upload_id: int
    duplicate: bool


def _now() -> datetime:
    return datetime.now(UTC)


def _load(cls: type[T], row: sa.Row[Any]) -> T:
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in row._mapping.items() if k in names})


class RecordStore:
    """Records on any SQLAlchemy URL; SQLite gets WAL and a busy timeout for concurrent runs."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "_engine": None}

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            if self.url.startswith("sqlite"):
                engine = sa.create_engine(self.url, connect_args={"timeout": 30})

                @sa.event.listens_for(engine, "connect")
                def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
                    cursor = dbapi_conn.cursor()
                    cursor.execute("PRAGMA journal_mode=WAL")
                    cursor.execute("PRAGMA busy_timeout=30000")
                    cursor.execute("PRAGMA foreign_keys=ON")
                    cursor.close()
            else:
                engine = sa.create_engine(self.url, pool_pre_ping=True)
            metadata.create_all(engine)
            self._engine = engine
        return self._engine

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            raise TransientError(f"records database unavailable: {exc.orig}") from exc

    # -- intake -----------------------------------------------------------------------------

    def receive(self, key: str, name: str, sha256: str, size: int, mtime_ns: int,
                origin: str = "sensor") -> Received:
        """Register an upload; identical content maps to the record that already has it."""
        try:
            return self._receive(key, name, sha256, size, mtime_ns, origin)
        except sa.exc.IntegrityError:
            # Another process registered the same content or upload first: now we see it.
            return self._receive(key, name, sha256, size, mtime_ns, origin)

    def _receive(self, key: str, name: str, sha256: str, size: int, mtime_ns: int,
                 origin: str) -> Received:
        with self._tx() as conn:
            existing = conn.execute(
                sa.select(files.c.key).where(files.c.sha256 == sha256)).scalar_one_or_none()
            if existing is None:
                now = _now()
                conn.execute(files.insert().values(
                    key=key, uuid=str(uuid.uuid4()), name=name, size=size, sha256=sha256,
                    state="received", created_at=now, updated_at=now))
            record_key = existing or key
            upload_id = conn.execute(sa.select(uploads.c.id).where(
                uploads.c.name == name, uploads.c.size == size,
                uploads.c.mtime_ns == mtime_ns)).scalar_one_or_none()
            if upload_id is None:
                # A duplicate is an upload of content that an earlier upload already brought;
                # a file released from quarantine is its own upload's second try, not one.
                first = conn.execute(sa.select(sa.func.min(uploads.c.id)).where(
                    uploads.c.key == record_key, uploads.c.state != "released")).scalar_one()
                upload_id = conn.execute(uploads.insert().values(
                    key=record_key, name=name, size=size, mtime_ns=mtime_ns, state="pending",
                    duplicate=first is not None, origin=origin, received_at=_now()
                ).returning(uploads.c.id)
                ).scalar_one()
            duplicate = conn.execute(sa.select(uploads.c.duplicate).where(
                uploads.c.id == upload_id)).scalar_one()
        return Received(key=record_key, upload_id=int(upload_id), duplicate=bool(duplicate))

    def pending_upload_names(self) -> set[str]:
        """Names in the upload directory that are already registered and not yet handled."""
        with self._tx() as conn:
            return set(conn.execute(
                sa.select(uploads.c.name).where(uploads.c.state == "pending")).scalars())

    def pending_uploads(self, key: str) -> list[Upload]:
        """Uploads of this record still waiting in the upload directory."""
        with self._tx() as conn:
            rows = conn.execute(sa.select(uploads).where(
                uploads.c.key == key, uploads.c.state == "pending").order_by(uploads.c.id))
            return [_load(Upload, row) for row in rows]

    def unrequested_uploads(self, after_id: int) -> list[Upload]:
        """Sensor uploads registered after ``after_id`` and still pending, oldest first."""
        with self._tx() as conn:
            rows = conn.execute(sa.select(uploads).where(
                uploads.c.id > after_id, uploads.c.state == "pending",
                uploads.c.origin == "sensor").order_by(uploads.c.id))
            return [_load(Upload, row) for row in rows]

    def refuse(self, key: str, name: str, digest: str, size: int, mtime_ns: int, reason: str,
               details: dict[str, Any]) -> Record:
        """Record an entry refused unread: quarantined from the start, keyed by its identity."""
        try:
            with self._tx() as conn:
                if conn.execute(sa.select(files.c.key).where(files.c.key == key)).first() is None:
                    now = _now()
                    conn.execute(files.insert().values(
                        key=key, uuid=str(uuid.uuid4()), name=name, size=size, sha256=digest,
                        state="quarantined", error=reason, details=details, created_at=now,
                        updated_at=now))
                    if conn.execute(sa.select(uploads.c.id).where(
                            uploads.c.name == name, uploads.c.size == size,
                            uploads.c.mtime_ns == mtime_ns)).first() is None:
                        conn.execute(uploads.insert().values(
                            key=key, name=name, size=size, mtime_ns=mtime_ns,
                            state="quarantined", duplicate=False, received_at=now))
        except sa.exc.IntegrityError:
            pass  # another tick recorded the same refusal first
        record = self.get(key)
        assert record is not None
        return record

    def release_uploads(self, key: str) -> None:
        """Mark a record's quarantined uploads as released (moved back for another try)."""
        with self._tx() as conn:
            conn.execute(uploads.update().where(uploads.c.key == key,
                                                uploads.c.state == "quarantined")
                         .values(state="released"))

    def set_upload_state(self, upload_id: int, state: str) -> None:
        with self._tx() as conn:
            conn.execute(uploads.update().where(uploads.c.id == upload_id).values(state=state))

    # -- the state machine ------------------------------------------------------------------

    def get(self, key: str) -> Record | None:
        with self._tx() as conn:
            row = conn.execute(sa.select(files).where(files.c.key == key)).one_or_none()
        return _load(Record, row) if row else None

    def advance(self, key: str, state: str, **values: Any) -> Record:
        """Move a record forward to ``state`` with new field values; never backwards.

        Re-applying the current state rewrites its values (a retried step) and is otherwise a
        no-op; an earlier state than the current one is ignored, so a late retry cannot undo
        later work.
        """
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        with self._tx() as conn:
            current = conn.execute(sa.select(files.c.state).where(
                files.c.key == key).with_for_update()).scalar_one_or_none()
            if current is None:
                raise KeyError(f"no record for {key!r}")
            moves = current in END_STATES or STATES.index(state) > STATES.index(current)
            if moves or (state == current and values):
                conn.execute(files.update().where(files.c.key == key).values(
                    state=state, error=None, updated_at=_now(), **values))
        record = self.get(key)
        assert record is not None
        return record

    def set_object(self, key: str, *, type: str, mime: str, location: str) -> None:
        """Note what the stored object is and where, before the record is marked stored."""
        with self._tx() as conn:
            conn.execute(files.update().where(files.c.key == key, files.c.state == "received")
                         .values(type=type, mime=mime, location=location, updated_at=_now()))

    def flag_verdicts(self, keys: list[str]) -> None:
        """Ask for single-partition runs that report these files' failures in Dagster."""
        if keys:
            with self._tx() as conn:
                conn.execute(files.update().where(files.c.key.in_(keys))
                             .values(verdict_pending=True))

    def take_verdicts(self) -> list[Record]:
        """Failed records waiting for their single-partition run; the flags are cleared."""
        with self._tx() as conn:
            rows = list(conn.execute(sa.select(files).where(files.c.verdict_pending)))
            if rows:
                conn.execute(files.update().where(files.c.key.in_([r.key for r in rows]))
                             .values(verdict_pending=False))
        return [_load(Record, row) for row in rows]

    def fail(self, key: str, reason: str, *, state: str = "failed") -> None:
        """End a record in ``failed`` or ``quarantined`` with a human-readable reason."""
        if state not in END_STATES:
            raise ValueError(f"not an end state: {state!r}")
        with self._tx() as conn:
            conn.execute(files.update().where(files.c.key == key, files.c.state != "done")
                         .values(state=state, error=reason, updated_at=_now()))

    def reopen(self, key: str) -> None:
        """Put a failed or quarantined record back to ``received`` for reprocessing."""
        with self._tx() as conn:
            conn.execute(files.update().where(files.c.key == key, files.c.state.in_(END_STATES))
                         .values(state="received", error=None, updated_at=_now()))

    def records(self, limit: int | None = None) -> list[Record]:
        """Records, newest first."""
        query = sa.select(files).order_by(files.c.created_at.desc(), files.c.key)
        with self._tx() as conn:
            return [_load(Record, r) for r in conn.execute(query.limit(limit))]

    # -- notification ledger ----------------------------------------------------------------

    def claim_notification(self, key: str, event: str, message: str) -> str | None:
        """Enter a notification in the ledger: "new", "resumed" (an earlier try died before
        it was stamped sent), or None when it was already sent."""
        with self._tx() as conn:
            sent = conn.execute(sa.select(notifications.c.sent_at).where(
                notifications.c.key == key, notifications.c.event == event)).one_or_none()
            if sent is None:
                conn.execute(notifications.insert().values(key=key, event=event, message=message))
                return "new"
            return "resumed" if sent[0] is None else None

    def mark_notified(self, key: str, event: str) -> None:
        with self._tx() as conn:
            conn.execute(notifications.update().where(
                notifications.c.key == key, notifications.c.event == event).values(sent_at=_now()))
