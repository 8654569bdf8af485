"""What lies in the upload and quarantine directories right now, counted without reading files.

Example::

    from fileproc_dagster.intake.census import quarantine_usage, unregistered
    unregistered(upload_dir, records.uploads.pending_names())  # files the sensor has not taken
    quarantine_usage(quarantine_dir).entries                   # bad uploads kept aside
"""

from __future__ import annotations

import os
import stat
from collections.abc import Set
from dataclasses import dataclass
from pathlib import Path

from fileproc_dagster.intake.scan import list_entries


def unregistered(upload_dir: Path, registered: Set[str]) -> int:
    """Entries of the upload directory not registered yet (temporary names left out): what
    the sensor has still to take, files settling included."""
    if not upload_dir.is_dir():
        return 0
    return sum(name not in registered for name in list_entries(upload_dir))


@dataclass(frozen=True)
class QuarantineUsage:
    """Bad uploads kept in ``quarantine/<key>/<name>``: how many, and the bytes of those that
    are regular files (symlinks and directories are kept as they are, never followed)."""

    entries: int
    bytes: int


def quarantine_usage(quarantine_dir: Path) -> QuarantineUsage:
    """Count the entries under each key's folder of the quarantine directory."""
    entries = size = 0
    if not quarantine_dir.is_dir():
        return QuarantineUsage(0, 0)
    with os.scandir(quarantine_dir) as folders:
        for folder in folders:
            if not folder.is_dir(follow_symlinks=False):
                continue  # nothing but key folders is put here
            for entry in _entries(Path(folder.path)):
                try:
                    info = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # released while we looked
                entries += 1
                if stat.S_ISREG(info.st_mode):
                    size += info.st_size
    return QuarantineUsage(entries, size)


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as kept:
            return list(kept)
    except FileNotFoundError:
        return []  # released or removed while we looked
