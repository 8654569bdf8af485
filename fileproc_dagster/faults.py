"""Fault injection for the durability tests: inert unless armed through the environment.

The pipeline, the per-file loop and the upload sensor call these hooks at their step
boundaries. With ``FILEPROC_FAULTS`` unset every hook returns at once (one cached lookup).

``FILEPROC_FAULTS``
    Comma-separated ``point=match`` or ``point=match:seconds`` entries. ``match`` is a
    substring of a file's partition key or upload name (``letter_8781``). Points:

    - ``after_detect``, ``after_put``, ``after_insert``, ``after_describe``, ``after_update``,
      ``after_delete``, ``after_notify``: SIGKILL the process doing the work (the run worker)
      right after that side effect of a matching file.
    - ``in_tick``: SIGKILL the daemon's whole process group (daemon, code server, run
      workers) in the middle of a sensor tick that registered a matching upload, after the
      registration and before any run is requested.
    - ``store_outage=match:seconds``: from the first put of a matching file, every object
      store put raises ``OSError`` for ``seconds``.
    - ``slow_describe=match:seconds``: the extraction of a matching file first spends
      ``seconds`` in the bounded worker, so it overruns a smaller ``timeout_s``.

``FILEPROC_FAULTS_DIR``
    Directory of marker files, required to arm anything: each fault fires once across all
    processes (an exclusively created marker records when, where and for what it fired), so
    the recovered attempt goes through.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import socket
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fileproc_dagster.describe.worker import run_bounded

FAULTS_VAR = "FILEPROC_FAULTS"
FAULTS_DIR_VAR = "FILEPROC_FAULTS_DIR"
KILL_POINTS = ("after_detect", "after_put", "after_insert", "after_describe", "after_update",
               "after_delete", "after_notify")
POINTS = (*KILL_POINTS, "in_tick", "store_outage", "slow_describe")


@dataclass(frozen=True)
class Fault:
    """One armed fault: where it fires, for which files, and for how long (outages)."""

    point: str
    match: str
    seconds: float = 0.0

    @property
    def marker(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{self.point}={self.match}")

    def matches(self, subjects: tuple[str, ...]) -> bool:
        return any(self.match in subject for subject in subjects)


def parse(spec: str) -> tuple[Fault, ...]:
    """Faults from a ``FILEPROC_FAULTS`` value; unknown points are an error, not ignored."""
    faults = []
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        point, _, target = entry.partition("=")
        match, _, seconds = target.partition(":")
        if point not in POINTS or not match:
            raise ValueError(f"bad {FAULTS_VAR} entry {entry!r}; points: {', '.join(POINTS)}")
        faults.append(Fault(point, match, float(seconds or 0)))
    return tuple(faults)


@cache
def _armed() -> tuple[tuple[Fault, ...], Path | None]:
    spec, folder = os.environ.get(FAULTS_VAR, ""), os.environ.get(FAULTS_DIR_VAR, "")
    if not spec or not folder:
        return (), None  # a fault without a marker directory would fire on every retry
    Path(folder).mkdir(parents=True, exist_ok=True)
    return parse(spec), Path(folder)


def rearm() -> None:
    """Read the environment again (tests that change it within one process)."""
    _armed.cache_clear()


def _claim(fault: Fault, folder: Path, subjects: tuple[str, ...]) -> bool:
    """Create the fault's marker; False when some process fired it already."""
    try:
        fd = os.open(folder / fault.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as out:
        json.dump({"point": fault.point, "match": fault.match, "subjects": list(subjects),
                   "pid": os.getpid(), "host": socket.gethostname(), "at": time.time()}, out)
    return True


def _first(point: str, subjects: tuple[str, ...]) -> Fault | None:
    """The armed fault of ``point`` for these subjects that has not fired yet, now claimed."""
    faults, folder = _armed()
    if not faults or folder is None:
        return None
    for fault in faults:
        if fault.point == point and fault.matches(subjects) and _claim(fault, folder, subjects):
            return fault
    return None


def crash(point: str, *subjects: str) -> None:
    """SIGKILL this process at ``point`` if a fault is armed for one of ``subjects``."""
    if _armed()[0] and _first(point, subjects):
        os.kill(os.getpid(), signal.SIGKILL)


def crash_group(point: str, *subjects: str) -> None:
    """SIGKILL this process's whole group (the daemon and its children) at ``point``."""
    if _armed()[0] and _first(point, subjects):
        os.killpg(os.getpgrp(), signal.SIGKILL)


def store_outage(*subjects: str) -> None:
    """Raise OSError while an armed object-store outage is under way."""
    faults, folder = _armed()
    if not faults or folder is None:
        return
    for fault in faults:
        if fault.point != "store_outage":
            continue
        marker = folder / fault.marker
        if fault.matches(subjects):
            _claim(fault, folder, subjects)
        if marker.exists():
            left = marker.stat().st_mtime + fault.seconds - time.time()
            if left > 0:
                raise OSError(errno.EIO, f"object store unavailable (injected outage, "
                                         f"{left:.0f} s left)")


def slow_describe(timeout_s: float, what: str, *subjects: str) -> None:
    """Stall the extraction worker once for these subjects, bounded like the extraction."""
    if not _armed()[0]:
        return
    fault = _first("slow_describe", subjects)
    if fault:
        run_bounded(time.sleep, fault.seconds, timeout_s=timeout_s, what=what)


def fired(folder: Path) -> dict[str, dict[str, object]]:
    """The markers of the faults that fired, by marker name (what the tests read)."""
    return {p.name: json.loads(p.read_text() or "{}") for p in sorted(folder.iterdir())
            if p.is_file()}
