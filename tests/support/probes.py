"""Hooks that watch or burden the extraction of chosen files (the pool tests).

The extraction worker imports this module to run a probe: keep its imports light.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from fileproc_dagster.hooks import Hooks

T = TypeVar("T")


def timed(folder: str, name: str, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``, noting the worker's pid and the start and end times under ``folder``."""
    started = time.time()
    try:
        return fn(*args)
    finally:
        Path(folder, f"{name}.json").write_text(json.dumps(
            {"name": name, "pid": os.getpid(), "start": started, "end": time.time()}))


def hogging(megabytes: int, fn: Callable[..., T], *args: Any) -> T:
    """Hold ``megabytes`` of touched memory, in steps the watchdog sees, then ``fn(*args)``."""
    held = []
    for _ in range(megabytes // 50):
        held.append(bytearray(50 * 2**20))
        time.sleep(0.01)
    return fn(*args)


def stalled(seconds: float, fn: Callable[..., T], *args: Any) -> T:
    time.sleep(seconds)
    return fn(*args)


class ProbeHooks(Hooks):
    """Time every extraction (when given a folder); stall or hog the files named so."""

    def __init__(self, folder: Path | None = None, stall: dict[str, float] | None = None,
                 hog: dict[str, int] | None = None) -> None:
        self.folder, self.stall, self.hog = folder, stall or {}, hog or {}

    def extraction(self, fn: Callable[..., T], *subjects: str) -> Callable[..., T]:
        name = subjects[-1]
        if name in self.stall:
            fn = partial(stalled, self.stall[name], fn)
        if name in self.hog:
            fn = partial(hogging, self.hog[name], fn)
        return partial(timed, str(self.folder), name, fn) if self.folder else fn


def intervals(folder: Path) -> list[dict[str, Any]]:
    """What ``timed`` noted, earliest start first."""
    found = [json.loads(p.read_text()) for p in folder.glob("*.json")]
    return sorted(found, key=lambda each: each["start"])
