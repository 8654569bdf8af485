"""Fault injection for the durability tests, through the product's hook seam.

``FaultHooks`` is a ``fileproc_dagster.hooks.Hooks``: ``faulty_location`` wires it into the
product's definitions, armed from the environment by ``from_env``.

``FILEPROC_FAULTS``
    Comma-separated ``point=match`` or ``point=match:seconds`` entries. ``match`` is a
    substring of a file's partition key or upload name (``letter_8781``). Points:

    - ``after_detect``, ``after_put``, ``after_insert``, ``after_describe``, ``after_member``
      (a member of an archive registered), ``after_update``, ``after_delete``,
      ``after_notify``: SIGKILL the process doing the work (the run worker)
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

The extraction worker imports this module to run a stall: keep its imports light.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from fileproc_dagster.hooks import NO_HOOKS, Hooks, Point

T = TypeVar("T")
FAULTS_VAR = "FILEPROC_FAULTS"
FAULTS_DIR_VAR = "FILEPROC_FAULTS_DIR"
KILL_POINTS = ("after_detect", "after_put", "after_insert", "after_describe", "after_update",
               "after_delete", "after_notify")
# Reached by archives and mails only (the crash matrix's plain files never get there).
MEMBER_POINTS = ("after_member",)
POINTS = (*KILL_POINTS, *MEMBER_POINTS, "in_tick", "store_outage", "slow_describe")
# The product's hook point where each fault fires (slow_describe wraps the extraction).
FIRES_AT = {**{p: Point(p) for p in (*KILL_POINTS, *MEMBER_POINTS)},
            "in_tick": Point.AFTER_REGISTER,
            "store_outage": Point.BEFORE_PUT}


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


def from_env(environ: Mapping[str, str] = os.environ) -> Hooks:
    """The hooks armed by ``FILEPROC_FAULTS``; the product's inert ones when nothing is."""
    spec, folder = environ.get(FAULTS_VAR, ""), environ.get(FAULTS_DIR_VAR, "")
    if not spec or not folder:
        return NO_HOOKS  # a fault without a marker directory would fire on every retry
    Path(folder).mkdir(parents=True, exist_ok=True)
    return FaultHooks(parse(spec), Path(folder))


def fired(folder: Path) -> dict[str, dict[str, object]]:
    """The markers of the faults that fired, by marker name (what the tests read)."""
    return {p.name: json.loads(p.read_text() or "{}") for p in sorted(folder.iterdir())
            if p.is_file()}


def _stalled(seconds: float, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` after ``seconds`` asleep (runs in the extraction worker)."""
    time.sleep(seconds)
    return fn(*args)


class FaultHooks(Hooks):
    """Hooks that fire armed faults, each once across all processes."""

    def __init__(self, faults: tuple[Fault, ...], folder: Path) -> None:
        self.faults = faults
        self.folder = folder

    def at(self, point: Point, *subjects: str) -> None:
        if point == Point.BEFORE_PUT:
            self._outage(subjects)
            return
        fault = self._first(lambda f: FIRES_AT.get(f.point) == point, subjects)
        if fault is None:
            return
        if fault.point == "in_tick":  # the daemon and its children, as a host crash would
            os.killpg(os.getpgrp(), signal.SIGKILL)
        else:
            os.kill(os.getpid(), signal.SIGKILL)

    def extraction(self, fn: Callable[..., T], *subjects: str) -> Callable[..., T]:
        fault = self._first(lambda f: f.point == "slow_describe", subjects)
        return partial(_stalled, fault.seconds, fn) if fault else fn

    def _claim(self, fault: Fault, subjects: tuple[str, ...]) -> bool:
        """Create the fault's marker; False when some process fired it already."""
        try:
            fd = os.open(self.folder / fault.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as out:
            json.dump({"point": fault.point, "match": fault.match, "subjects": list(subjects),
                       "pid": os.getpid(), "host": socket.gethostname(), "at": time.time()},
                      out)
        return True

    def _first(self, fires: Callable[[Fault], bool], subjects: tuple[str, ...]) -> Fault | None:
        """The armed fault firing here for these subjects that has not fired yet, now claimed."""
        for fault in self.faults:
            if fires(fault) and fault.matches(subjects) and self._claim(fault, subjects):
                return fault
        return None

    def _outage(self, subjects: tuple[str, ...]) -> None:
        """Raise OSError while an armed object-store outage is under way."""
        for fault in self.faults:
            if fault.point != "store_outage":
                continue
            if fault.matches(subjects):
                self._claim(fault, subjects)
            marker = self.folder / fault.marker
            if marker.exists():
                left = marker.stat().st_mtime + fault.seconds - time.time()
                if left > 0:
                    raise OSError(errno.EIO, f"object store unavailable (injected outage, "
                                             f"{left:.0f} s left)")
