"""A process's tree and its resident memory, read from /proc (Linux; empty elsewhere)."""

from __future__ import annotations

import os
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def descendants(pid: int) -> list[int]:
    """Child processes of ``pid``, recursively (Linux /proc; empty elsewhere)."""
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            pids = [int(p) for p in children.read_text().split()]
        except OSError:
            continue
        for child in pids:
            found += [child, *descendants(child)]
    return found


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and its children (0 where /proc is not available)."""
    total = 0
    for each in (pid, *descendants(pid)):
        try:
            total += int(Path(f"/proc/{each}/statm").read_text().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            continue  # exited in between
    return total
