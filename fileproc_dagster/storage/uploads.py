"""The intake's tables: every file dropped into the upload directory (``uploads``), mapped to
the partition key its content was given (``contents``).

Registering an upload is idempotent (keyed by name, size and mtime); identical content maps to
the key it was given first and is marked a duplicate. The record of a content is inserted
later, by the record step (``files.Files.insert``); only an entry refused at the door gets its
(quarantined) record here.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from fileproc_dagster.storage import search as fulltext
from fileproc_dagster.storage.database import Database
from fileproc_dagster.storage.files import Record, load, now
from fileproc_dagster.storage.schema import contents, files, uploads
from fileproc_dagster.storage.states import State, UploadState


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
    parent_key: str | None = None  # a member of this archive or mail, never in the directory


@dataclass(frozen=True)
class Content:
    """One distinct content the intake was handed, under the partition key it gave it."""

    key: str
    sha256: str
    name: str
    size: int
    received_at: datetime


@dataclass(frozen=True)
class Received:
    """The outcome of registering an upload: which content key it maps to, whether it is new."""

    key: str
    upload_id: int
    duplicate: bool


def _identity(name: str, size: int, mtime_ns: int) -> sa.ColumnElement[bool]:
    return sa.and_(uploads.c.name == name, uploads.c.size == size,
                   uploads.c.mtime_ns == mtime_ns)


class Uploads:
    """Registration of uploads and what became of each."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def receive(self, key: str, name: str, sha256: str, size: int, mtime_ns: int,
                origin: str = "sensor", parent_key: str | None = None) -> Received:
        """Register an upload; identical content maps to the key it was given first."""
        try:
            return self._receive(key, name, sha256, size, mtime_ns, origin, parent_key)
        except sa.exc.IntegrityError:
            # Another process registered the same content or upload first: now we see it.
            return self._receive(key, name, sha256, size, mtime_ns, origin, parent_key)

    def receive_member(self, parent_key: str, key: str, name: str, sha256: str, size: int,
                       origin: str) -> Received:
        """Register a member of an archive or a mail as an upload of its own, once per
        (parent, member name): registered again after a crash, it maps to the same upload.

        Its identity is the parent and the name, not a file's: its ``mtime_ns`` is a negative
        digest of both, which no entry of the upload directory has.
        """
        digest = hashlib.sha256(f"{parent_key}\0{name}".encode()).hexdigest()
        return self.receive(key, name, sha256, size, -int(digest[:15], 16), origin, parent_key)

    def members(self, parent_key: str) -> list[Upload]:
        """The uploads of an archive's members or a mail's attachments, in their order."""
        with self.db.transaction() as conn:
            rows = conn.execute(sa.select(uploads).where(uploads.c.parent_key == parent_key)
                                .order_by(uploads.c.id))
            return [load(Upload, row) for row in rows]

    def lineage(self, key: str) -> list[str]:
        """The containers a content came out of, its parent first (by its first upload)."""
        chain: list[str] = []
        with self.db.transaction() as conn:
            while len(chain) < 100:
                parent = conn.execute(sa.select(uploads.c.parent_key).where(
                    uploads.c.key == key).order_by(uploads.c.id).limit(1)).scalar_one_or_none()
                if parent is None or parent in chain:  # a cycle cannot come of content keys
                    break
                chain.append(parent)
                key = parent
        return chain

    def origin(self, key: str) -> str:
        """Where the latest upload of a content came from (``sensor``, ``process``)."""
        with self.db.transaction() as conn:
            found = conn.execute(sa.select(uploads.c.origin).where(uploads.c.key == key)
                                 .order_by(uploads.c.id.desc()).limit(1)).scalar_one_or_none()
        return str(found or "sensor")

    def _receive(self, key: str, name: str, sha256: str, size: int, mtime_ns: int,
                 origin: str, parent_key: str | None = None) -> Received:
        with self.db.transaction() as conn:
            existing = conn.execute(
                sa.select(contents.c.key).where(contents.c.sha256 == sha256)).scalar_one_or_none()
            if existing is None:
                conn.execute(contents.insert().values(key=key, sha256=sha256, name=name,
                                                      size=size, received_at=now()))
            record_key = existing or key
            upload_id = conn.execute(sa.select(uploads.c.id).where(
                _identity(name, size, mtime_ns))).scalar_one_or_none()
            if upload_id is None:
                # A duplicate is an upload of content that an earlier upload already brought;
                # a file released from quarantine is its own upload's second try, not one.
                first = conn.execute(sa.select(sa.func.min(uploads.c.id)).where(
                    uploads.c.key == record_key, uploads.c.state != UploadState.RELEASED)
                ).scalar_one()
                upload_id = conn.execute(uploads.insert().values(
                    key=record_key, name=name, size=size, mtime_ns=mtime_ns,
                    state=UploadState.PENDING, duplicate=first is not None, origin=origin,
                    parent_key=parent_key, received_at=now()).returning(uploads.c.id)).scalar_one()
            duplicate = conn.execute(sa.select(uploads.c.duplicate).where(
                uploads.c.id == upload_id)).scalar_one()
        return Received(key=record_key, upload_id=int(upload_id), duplicate=bool(duplicate))

    def refuse(self, key: str, name: str, digest: str, size: int, mtime_ns: int, reason: str,
               details: dict[str, Any]) -> Record:
        """Record an entry refused unread: quarantined from the start, keyed by its identity."""
        try:
            with self.db.transaction() as conn:
                if conn.execute(sa.select(files.c.key).where(files.c.key == key)).first() is None:
                    stamp = now()
                    conn.execute(contents.insert().values(key=key, sha256=digest, name=name,
                                                          size=size, received_at=stamp))
                    conn.execute(files.insert().values(
                        key=key, uuid=str(uuid.uuid4()), name=name, size=size, sha256=digest,
                        state=State.QUARANTINED, error=reason, details=details,
                        created_at=stamp, updated_at=stamp))
                    fulltext.reindex(conn, [key])
                    if conn.execute(sa.select(uploads.c.id).where(
                            _identity(name, size, mtime_ns))).first() is None:
                        conn.execute(uploads.insert().values(
                            key=key, name=name, size=size, mtime_ns=mtime_ns,
                            state=UploadState.QUARANTINED, duplicate=False, received_at=stamp))
        except sa.exc.IntegrityError:
            pass  # another tick recorded the same refusal first
        with self.db.transaction() as conn:
            return load(Record, conn.execute(sa.select(files).where(files.c.key == key)).one())

    def content(self, key: str) -> Content | None:
        """What the intake knows of a partition key: its content's digest, first name, size."""
        with self.db.transaction() as conn:
            row = conn.execute(sa.select(contents).where(contents.c.key == key)).one_or_none()
        return load(Content, row) if row else None

    def pending_names(self) -> set[str]:
        """Names in the upload directory that are already registered and not yet handled."""
        with self.db.transaction() as conn:
            return set(conn.execute(sa.select(uploads.c.name).where(
                uploads.c.state == UploadState.PENDING, uploads.c.parent_key.is_(None))
            ).scalars())

    def pending_count(self) -> int:
        """How many registered uploads are still in the upload directory, not yet handled."""
        query = sa.select(sa.func.count()).select_from(uploads).where(
            uploads.c.state == UploadState.PENDING)
        with self.db.transaction() as conn:
            return int(conn.execute(query).scalar_one())

    def pending(self, key: str) -> list[Upload]:
        """Uploads of this record still waiting in the upload directory."""
        with self.db.transaction() as conn:
            rows = conn.execute(sa.select(uploads).where(
                uploads.c.key == key, uploads.c.state == UploadState.PENDING)
                .order_by(uploads.c.id))
            return [load(Upload, row) for row in rows]

    def unrequested(self, after_id: int) -> list[Upload]:
        """Sensor uploads registered after ``after_id`` and still pending, oldest first."""
        with self.db.transaction() as conn:
            rows = conn.execute(sa.select(uploads).where(
                uploads.c.id > after_id, uploads.c.state == UploadState.PENDING,
                uploads.c.origin == "sensor").order_by(uploads.c.id))
            return [load(Upload, row) for row in rows]

    def release(self, key: str) -> None:
        """Mark a record's quarantined uploads as released (moved back for another try)."""
        with self.db.transaction() as conn:
            conn.execute(uploads.update().where(uploads.c.key == key,
                                                uploads.c.state == UploadState.QUARANTINED)
                         .values(state=UploadState.RELEASED))

    def set_state(self, upload_id: int, state: UploadState) -> None:
        with self.db.transaction() as conn:
            conn.execute(uploads.update().where(uploads.c.id == upload_id).values(state=state))
