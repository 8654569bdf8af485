"""Which entries of the upload directory are finished uploads: the pure diff of a sensor tick.

A file still being written is left alone until nothing has changed it for a while, or until it
looks the same on two looks; temporary names (``.part``, ``.tmp``, dotfiles) are never taken.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TEMPORARY_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".download", ".swp", "~")


# name -> (size, mtime_ns, changed_ns): one observation of a file in the upload directory;
# changed_ns is the later of mtime and ctime, which a copy that keeps old times cannot fake.
Observation = tuple[int, int, int]


def is_temporary(name: str) -> bool:
    """Names of files still being written by some tool, or hidden: never processed."""
    lowered = name.lower()
    return name.startswith(".") or lowered.endswith(TEMPORARY_SUFFIXES)


def list_entries(upload_dir: Path) -> dict[str, Observation]:
    """Everything the sensor must look at: regular files, and the symlinks, directories and
    other entries that are refused (quarantined unread) once they stop changing."""
    listing: dict[str, Observation] = {}
    with os.scandir(upload_dir) as entries:
        for entry in entries:
            if is_temporary(entry.name):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            listing[entry.name] = (info.st_size, info.st_mtime_ns,
                                   max(info.st_mtime_ns, info.st_ctime_ns))
    return listing


@dataclass(frozen=True)
class ScanResult:
    """Files that became stable since the last check, and the observations to keep."""


    ready: list[str]
    waiting: dict[str, Observation]


def scan(previous: Mapping[str, Observation], listing: Mapping[str, Observation],
         registered: set[str], now_ns: int = 0, settle_ns: int | None = None) -> ScanResult:
    """Pure diff of one sensor tick.


    A file is ready when nothing changed it for ``settle_ns`` before ``now_ns`` (by its
    timestamps), or when it was seen with the same size and times on the previous check: a
    file still being written is left alone. Files already registered are skipped. Only files
    waiting for another look are carried over, so the state stays O(new files).
    """
    ready: list[str] = []
    waiting: dict[str, Observation] = {}
    for name, observation in listing.items():
        if name in registered:
            continue
        quiet_ns = now_ns - observation[2]
        if previous.get(name) == observation or (
                settle_ns is not None and quiet_ns >= settle_ns):
            ready.append(name)
        else:
            waiting[name] = observation
    return ScanResult(ready=sorted(ready), waiting=waiting)


def settles_in(waiting: Mapping[str, Observation], now_ns: int, settle_ns: int) -> float | None:
    """Seconds until the first waiting file has been untouched for ``settle_ns``, if one will
    within that time (a file with a change time in the future will not)."""
    quiet = [now_ns - observation[2] for observation in waiting.values()]
    left = [settle_ns - q for q in quiet if 0 <= q < settle_ns]
    return min(left) / 1e9 if left else None
