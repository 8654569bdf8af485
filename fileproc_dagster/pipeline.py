"""The steps of processing one file, free of Dagster: store, record, describe, finalize.

Each step reads the record, does its work only if its result is missing, and writes through
idempotent operations (content-addressed puts, keyed upserts, the notification ledger), so a
step can be retried or re-run after a crash at any point. The Dagster assets are thin wrappers
around these methods, and notebooks can call them directly.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from fileproc_dagster.describe import describe, warm_up
from fileproc_dagster.describe.detect import detect
from fileproc_dagster.describe.formats import expected_seconds, is_container
from fileproc_dagster.describe.model import Description, Detection, ExtractOptions, FileKind
from fileproc_dagster.describe.preview import preview_image
from fileproc_dagster.errors import (
    BadInput,
    ConfigurationError,
    FileprocError,
    LostUpload,
    Undelivered,
)
from fileproc_dagster.hooks import NO_HOOKS, Hooks, Point
from fileproc_dagster.intake.members import register_members
from fileproc_dagster.intake.moves import delete_upload, is_same_upload, quarantine_upload
from fileproc_dagster.intake.names import upload_path
from fileproc_dagster.meaning import preload_embedder
from fileproc_dagster.notify import Notification, Notifier, stored_at
from fileproc_dagster.storage.objects import ObjectStore
from fileproc_dagster.storage.records import Content, Record, Records
from fileproc_dagster.storage.states import State, UploadState
from fileproc_dagster.storage.structure import keep
from fileproc_dagster.workers.pool import Extractions, Job, pool_size
from fileproc_dagster.workers.worker import (
    Worker,
    extraction_workers,
    run_bounded,
    set_memory_limit,
    start_worker,
)

log = logging.getLogger(__name__)

# Keys of a record's details: the small preview picture, and what described the file.
PREVIEW_IMAGE = "preview_image"
VERSION = "described_with"
STRUCTURE_CUT = "structure_cut"  # what of the Markdown and tables was over the caps
# A file's extraction result and its seconds (fetching the bytes included).
Extracted = tuple[Description, float]


@dataclass(frozen=True)
class StoredObject:
    """A file's bytes in the object store, under their content key."""

    key: str
    sha256: str
    size: int
    location: str
    reason: str


@dataclass(frozen=True)
class Finalized:
    """The end of one file: its record, uploads removed, notifications sent now and the
    targets that did not take one (it stays owed to them, see ``Notifier.send_once``)."""

    record: Record
    deleted: list[str]
    notified: list[str]
    undelivered: list[str]


@dataclass(frozen=True)
class Pipeline:
    """The services one file passes through, and the hooks called at its step boundaries.

    A step that never reads or writes objects (finalizing) may be given no object store.
    """

    records: Records
    upload_dir: Path
    quarantine_dir: Path
    notifier: Notifier
    hooks: Hooks = NO_HOOKS
    store: ObjectStore | None = None

    @property
    def objects(self) -> ObjectStore:
        if self.store is None:
            raise ConfigurationError("this step was given no object store")
        return self.store

    def content(self, key: str) -> Content:
        """What the intake registered under a partition key."""
        content = self.records.uploads.content(key)
        if content is None:
            raise LostUpload(f"no upload was received for {key!r}")
        return content

    def record(self, key: str) -> Record:
        """The record of a partition, which the record step inserted."""
        record = self.records.files.get(key)
        if record is None:
            self.content(key)
            raise FileprocError(f"{key!r} has not been recorded yet")
        return record

    @contextmanager
    def source(self, content: Content | Record) -> Iterator[Path]:
        """A local path holding the file's bytes: the upload if still there, else the object."""
        for upload in self.records.uploads.pending(content.key):
            if is_same_upload(self.upload_dir, upload):
                yield upload_path(self.upload_dir, upload.name)
                return
        if not self.objects.exists(content.sha256):
            raise LostUpload(f"{content.name!r} disappeared before it was stored")
        with tempfile.TemporaryDirectory(prefix="fileproc-") as tmp:
            path = Path(tmp) / "object"
            with self.objects.open(content.sha256) as src, open(path, "wb") as dst:
                shutil.copyfileobj(src, dst)
            yield path

    def warm_up(self, workers: int = 1) -> None:
        """Start the extraction workers while the files are being stored and recorded."""
        start_worker(warm_up, workers)

    def store_file(self, key: str) -> StoredObject:
        """Put the upload's bytes under their content key (once: a stored object is kept)."""
        content = self.content(key)
        record = self.records.files.get(key)
        if record is not None and record.state is State.QUARANTINED:
            raise BadInput(record.error or "quarantined earlier")
        if record is not None and record.state is State.FAILED:
            log.info("reprocessing %s after an earlier failure: %s", key, record.error)
            self.records.files.reopen(key)
        stored = StoredObject(key=key, sha256=content.sha256, size=content.size,
                              location=self.objects.location(content.sha256),
                              reason="stored earlier")
        if self.objects.exists(content.sha256):
            return stored
        with self.source(content) as path:
            self.hooks.at(Point.BEFORE_PUT, key, content.name)
            location = self.objects.put_file(path, content.sha256)
            self.hooks.at(Point.AFTER_PUT, key, content.name)
        return replace(stored, location=location, reason="uploaded")

    def record_file(self, key: str, options: ExtractOptions) -> tuple[Record, Detection | None]:
        """Detect the stored file's type from its content and insert its record (``stored``).

        The detection is None for a file recorded earlier.
        """
        content = self.content(key)
        record = self.records.files.get(key)
        if record is not None and record.state is not State.RECEIVED:
            return record, None
        if not self.objects.exists(content.sha256):
            raise FileprocError(f"{key!r} has no stored object yet")
        with self.source(content) as path:
            detection = detect(path, options)
        self.hooks.at(Point.AFTER_DETECT, key, content.name)
        record = self.records.files.insert(key, State.STORED, type=detection.kind.value,
                                           mime=detection.mime,
                                           location=self.objects.location(content.sha256))
        self.hooks.at(Point.AFTER_INSERT, key, content.name)
        return record, detection

    def describe_ahead(self, keys: Iterable[str], options: ExtractOptions, timeout_s: float,
                       workers: int = 0, memory_bytes: int | None = None,
                       version: str | None = None) -> Extractions[Extracted]:
        """Start the extractions of the files of ``keys`` still to describe, on up to
        ``workers`` bounded workers (0: one per CPU), longest expected first; each result
        waits for ``describe_file(..., ahead=...)``. Close it when the step ends."""
        keys = list(keys)
        if memory_bytes is not None:
            set_memory_limit(memory_bytes)
        jobs = []
        for key in keys:
            record = self.records.files.get(key)
            if (record is None or record.state.ended or record.type is None
                    or record.mime is None or _described(record, version)):
                continue
            detection = Detection(FileKind(record.type), record.mime)
            jobs.append(Job(key, expected_seconds(detection.kind, detection.mime, record.size),
                            partial(self._extract, record, detection, options, timeout_s)))
        count = pool_size(workers, len(keys))
        start_worker(warm_up, count)
        if jobs:
            preload_embedder()  # ready when the first description is written
        return Extractions(jobs, extraction_workers(count))

    def _extract(self, record: Record, detection: Detection, options: ExtractOptions,
                 timeout_s: float, worker: Worker | None = None,
                 cancel: threading.Event | None = None,
                 memory_bytes: int | None = None) -> Extracted:
        """Describe the file in ``worker`` (None: this process's first, given ``memory_bytes``);
        ``cancel`` set stops it (see ``Worker.call``)."""
        call = (partial(worker.call, cancel=cancel) if worker
                else partial(run_bounded, memory_bytes=memory_bytes))
        started = time.monotonic()
        with self.source(record) as path:
            result = call(self.hooks.extraction(describe, record.key, record.name), path,
                          detection, options, timeout_s=timeout_s,
                          what=f"describing {record.name!r}")
        return result, time.monotonic() - started

    def describe_file(self, key: str, options: ExtractOptions, timeout_s: float,
                      memory_bytes: int | None = None, version: str | None = None,
                      ahead: Extractions[Extracted] | None = None
                      ) -> tuple[Record, Description | None]:
        """Extract text and facts in a bounded worker (or take what ``ahead`` extracted);
        skipped when already described (by the extractors of ``version``, when one is given:
        another one describes again)."""
        record = self.record(key)
        if _described(record, version):
            return record, None
        if record.type is None or record.mime is None:
            raise FileprocError(f"{key!r} has not been stored yet")
        if ahead is not None and key in ahead:
            result, seconds = ahead.result(key)
        else:
            preload_embedder()
            result, seconds = self._extract(record, Detection(FileKind(record.type), record.mime),
                                            options, timeout_s, memory_bytes=memory_bytes)
        self.hooks.at(Point.AFTER_DESCRIBE, key, record.name)
        details = {**result.details, "extraction_seconds": round(seconds, 3)}
        if is_container(record.type, record.mime):
            # An archive or a mail is described once its members are uploads of their own.
            with self.source(record) as path:
                details["members"] = register_members(self.records, self.objects, self.hooks,
                                                      record, path, options)
        if result.thumbnail:
            details["thumbnail"] = self.objects.put_bytes(
                f"thumbnails/{record.sha256[:2]}/{record.sha256}.png", result.thumbnail)
            details[PREVIEW_IMAGE] = preview_image(result.thumbnail)
        if version is not None:
            details[VERSION] = version
        structure = keep(result.markdown, [(t.name, t.rows) for t in result.tables])
        if structure.cut:
            details[STRUCTURE_CUT] = structure.cut
        # Described again by other extractors, a done file stays done with the new facts.
        state = State.DONE if record.state is State.DONE else State.DESCRIBED
        record = self.records.files.advance(key, state, description=result.description,
                                            text=result.text, details=details,
                                            markdown=structure.markdown, tables=structure.tables)
        self.hooks.at(Point.AFTER_UPDATE, key, record.name)
        return record, result

    def finalize_file(self, key: str) -> Finalized:
        """Mark done, delete the uploads, then notify once per upload."""
        record = self.record(key)
        if record.state not in (State.DESCRIBED, State.DONE):
            raise FileprocError(f"{key!r} cannot be finalized in state {record.state!r}")
        record = self.records.files.advance(key, State.DONE)
        deleted: list[str] = []
        notified: list[str] = []
        undelivered: list[str] = []
        for upload in self.records.uploads.pending(key):
            if delete_upload(self.upload_dir, upload):
                deleted.append(upload.name)
                self.hooks.at(Point.AFTER_DELETE, key, upload.name)
            if upload.duplicate:
                self._notify(key, f"duplicate-{upload.id}",
                             f"Duplicate {upload.name} of {record.name} ({record.type}) - "
                             f"db: {record.uuid}, {stored_at(record.location)}", notified,
                             undelivered)
            self.records.uploads.set_state(upload.id, UploadState.DELETED)
        self._notify(key, "processed", f"Processed {record.name} ({record.type}) - "
                     f"db: {record.uuid}, {stored_at(record.location)}", notified, undelivered)
        self.hooks.at(Point.AFTER_NOTIFY, key, record.name)
        return Finalized(record=record, deleted=deleted, notified=notified,
                         undelivered=undelivered)

    def _notify(self, key: str, event: str, message: str, sent: list[str],
                undelivered: list[str] | None = None) -> None:
        # A target that is down must not hold back the file, which is done: the ledger keeps
        # the message owed to it and resend_notifications sends it later.
        try:
            if self.notifier.send_once(Notification(key, event, message), self.records):
                sent.append(message)
        except Undelivered as exc:
            log.warning("%s; sent again later by resend_notifications", exc)
            if undelivered is not None:
                undelivered.extend(f"{event}: {failure}" for failure in exc.failures)

    def quarantine(self, key: str, reason: str) -> list[Path]:
        """End a bad file in ``quarantined``, moving its uploads aside (never deleting them)."""
        self.records.files.fail(key, reason, state=State.QUARANTINED)
        return self.settle(key)

    def settle(self, key: str) -> list[Path]:
        """Finish a quarantine that a crash or an outage cut short: uploads still waiting go
        aside, a notice still owed goes out (nothing is done twice)."""
        record = self.records.files.get(key)
        if record is None or record.state is not State.QUARANTINED:
            return []
        moved = []
        for upload in self.records.uploads.pending(key):
            target = quarantine_upload(self.upload_dir, self.quarantine_dir, upload)
            if target is not None:
                moved.append(target)
            self.records.uploads.set_state(upload.id, UploadState.QUARANTINED)
        self._notify(key, "quarantined", f"Quarantined {record.name}: {record.error}", [])
        return moved

    def fail(self, key: str, reason: str) -> None:
        """End a file in ``failed`` (retries exhausted); its upload stays where it is."""
        self.records.files.fail(key, reason, state=State.FAILED)


def _described(record: Record, version: str | None) -> bool:
    """Described already (by the extractors of ``version``, when one is given)."""
    return record.state in (State.DESCRIBED, State.DONE) and (
        version is None or (record.details or {}).get(VERSION) == version)
