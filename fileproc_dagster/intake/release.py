"""Releasing quarantined files: back into the upload directory, their record reopened.

Each file goes back under its own name (atomically, never overwriting), so the sensor
registers it again::

    from fileproc_dagster.intake.release import release
    release(upload_dir, quarantine_dir, "letter-4aad360a2c10", records)
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from fileproc_dagster.errors import FileprocError
from fileproc_dagster.intake.moves import link_new
from fileproc_dagster.intake.names import upload_path
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.states import State

log = logging.getLogger(__name__)

KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,128}")


@dataclass(frozen=True)
class Released:
    """What releasing one quarantined key did."""


    key: str
    moved: list[Path]  # back in the upload directory, under their own names
    kept: dict[str, str]  # name -> why it stayed in quarantine
    state: str  # the record's state afterwards


def release(upload_dir: Path, quarantine_dir: Path, key: str, records: Records) -> Released:
    """Move a key's quarantined files back into the upload directory and reopen its record.


    Each file goes back under its own name, atomically and never over an existing file, with
    a fresh mtime, so the sensor registers it as a new upload of the same record. Refused
    entries that are not regular files (symlinks, directories) stay where they are.
    """
    if not KEY_PATTERN.fullmatch(key):
        raise FileprocError(f"not a partition key: {key!r}")
    record = records.files.get(key)
    if record is None:
        raise FileprocError(f"no record for {key!r}")
    if not (record.state.ended or record.state is State.RECEIVED):
        raise FileprocError(f"{key!r} is {record.state}, not quarantined")
    folder = quarantine_dir / key
    names = sorted(os.listdir(folder)) if folder.is_dir() else []
    if not names:
        raise FileprocError(f"nothing of {key!r} is in quarantine ({folder})")
    refused = (record.details or {}).get("refused")
    if not refused:
        # Reopened first: a file the sensor sees come back must find its record ready to run.
        records.uploads.release(key)
        records.files.reopen(key)
    upload_dir.mkdir(parents=True, exist_ok=True)
    moved: list[Path] = []
    kept: dict[str, str] = {}
    for name in names:
        source = folder / name
        if not stat.S_ISREG(os.lstat(source).st_mode):
            kept[name] = "not a regular file, which is never processed: remove it by hand"
            continue
        os.utime(source)  # a new mtime: a new upload for the sensor, the old one is history
        target = upload_path(upload_dir, name)
        try:
            link_new(source, target)
        except FileExistsError:
            kept[name] = f"{target} exists: move or rename it, then release again"
            continue
        moved.append(target)
    with contextlib.suppress(OSError):
        folder.rmdir()
    if refused and moved:
        stamp = time.strftime("%Y-%m-%d %H:%M")
        records.files.fail(key, f"released for another try on {stamp}; was: {record.error}",
                           state=State.QUARANTINED)
    elif not moved and not refused:
        records.files.fail(key, record.error or "quarantined", state=State.QUARANTINED)
    after = records.files.get(key)
    log.info("released %s: %d file(s) back, %d kept", key, len(moved), len(kept))
    return Released(key, moved, kept, after.state if after else "unknown")
