"""Processing files in this process, for the CLI and notebooks.

The same assets the daemon runs, materialized with Dagster's ``materialize`` against the
configured instance, so every run shows up in the UI like a sensor-driven one.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from fileproc_dagster.app.instance import prepare_dagster_home
from fileproc_dagster.errors import BadInput
from fileproc_dagster.intake.admit import admit, record_refusal
from fileproc_dagster.intake.moves import copy_into
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Received, Record, Records
from fileproc_dagster.storage.states import State, UploadState
from fileproc_dagster.workers import worker


@dataclass(frozen=True)
class Outcome:
    """The result of processing one path."""

    path: Path
    key: str | None
    duplicate: bool
    record: Record | None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        base = self.record.as_json() if self.record else {"key": self.key, "state": State.FAILED}
        return {**base, "path": str(self.path), "duplicate": self.duplicate,
                "error": base.get("error") or self.error}

    def summary(self) -> str:
        if self.record is None:
            return f"failed      {self.path}: {self.error}"
        r = self.record
        what = r.error if r.state.ended else r.description
        dup = " (duplicate)" if self.duplicate else ""
        return f"{r.state:<11} {r.type or '-':<11} {r.key}{dup}: {what or ''}"


def configured_instance(settings: Settings) -> dg.DagsterInstance:
    """The Dagster instance of DAGSTER_HOME, or of the embedded default when it is unset."""
    if not os.environ.get("DAGSTER_HOME"):
        prepare_dagster_home(settings.dagster_home)
        os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    return dg.DagsterInstance.get()


def _admit(settings: Settings, path: Path, records: Records) -> Received | Record:
    """Copy one file into the upload directory and register it, or refuse it unread."""
    info = os.stat(path)  # the user named this path: a link given here is followed
    if stat.S_ISREG(info.st_mode) and info.st_size > settings.max_upload_bytes:
        # Refused before a byte is read; the user's own file stays where it is.
        return record_refusal(records, path.name, info,
                              max_bytes=settings.max_upload_bytes)
    copied = copy_into(path, settings.upload_dir)
    admitted = admit(settings.upload_dir, settings.quarantine_dir, copied.name,
                     records, max_bytes=settings.max_upload_bytes, origin="process")
    if admitted is None:
        raise FileNotFoundError(errno.ENOENT, "the copy vanished from the upload directory")
    return admitted


def process_paths(settings: Settings, paths: Sequence[Path],
                  instance: dg.DagsterInstance | None = None,
                  run_config: dict[str, Any] | None = None) -> Iterator[Outcome]:
    """Upload each file (a copy) and materialize its partition in this process; the members
    of an archive or a mail follow it, each in its own partition and run.

    Example::

        from fileproc_dagster import Settings, process_paths
        for outcome in process_paths(Settings.from_env(), [Path("scan.png")]):
            print(outcome.summary())
    """
    from fileproc_dagster.definitions import ASSETS, build_resources
    from fileproc_dagster.defs.partitions import UPLOADS

    settings.ensure_dirs()
    worker.set_memory_limit(settings.worker_memory_bytes)
    instance = instance or configured_instance(settings)
    records = Records(settings.db_url)
    resources = build_resources(settings)
    for path in paths:
        try:
            received = _admit(settings, path, records)
        except (OSError, BadInput) as exc:
            reason = getattr(exc, "strerror", None) or exc
            yield Outcome(path, None, False, None, f"cannot read {path}: {reason}")
            continue
        if isinstance(received, Record):  # refused unread, quarantined at the door
            yield Outcome(path, received.key, False, received)
            continue
        def run(key: str) -> None:
            instance.add_dynamic_partitions(UPLOADS, [key])
            dg.materialize(ASSETS, partition_key=key, instance=instance, resources=resources,
                           run_config=run_config, raise_on_error=False,
                           tags={"fileproc/source": "process"})

        run(received.key)
        yield Outcome(path, received.key, received.duplicate, records.files.get(received.key))
        yield from _members(records, path, received.key, run)


def _members(records: Records, path: Path, key: str,
             run: Callable[[str], None]) -> Iterator[Outcome]:
    """Process the members of an archive or a mail (theirs too, nested), each in its run."""
    waiting = [(path, key)]
    while waiting:
        container_path, container = waiting.pop(0)
        for member in records.uploads.members(container):
            if member.state != UploadState.PENDING or member.origin != "process":
                continue  # processed already, or left to the sensor
            run(member.key)
            member_path = container_path / member.name
            yield Outcome(member_path, member.key, member.duplicate,
                          records.files.get(member.key))
            waiting.append((member_path, member.key))
