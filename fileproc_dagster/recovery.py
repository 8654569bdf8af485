"""What crash recovery needs to know of processes, free of Dagster: is a run worker alive.

A run worker killed together with its code server (a daemon or host crash) leaves its run
STARTED with nobody left to report it; these checks let the reconciliation sensor see it.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

PROC = Path("/proc")
# A pid may be reused by a new process once the old one is gone: started after the run
# worker reported itself, it is someone else.
START_SLACK_S = 2.0


def can_check_processes() -> bool:
    """Whether this machine exposes processes under /proc (Linux)."""
    return (PROC / "stat").is_file()


@cache
def _boot_time() -> float:
    line = next(x for x in (PROC / "stat").read_text().splitlines() if x.startswith("btime"))
    return float(line.split()[1])


def process_alive(pid: int, reported_at: float) -> bool:
    """Whether the process ``pid`` that reported itself at ``reported_at`` still runs.

    A zombie (killed, not yet reaped) is dead; a process started after ``reported_at`` is a
    later one that reused the pid.
    """
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # The command name (field 2) may hold spaces and parentheses: split after its last ")".
    fields = stat.rsplit(")", 1)[1].split()
    state, start_ticks = fields[0], int(fields[19])
    if state in ("Z", "X"):
        return False
    started = _boot_time() + start_ticks / os.sysconf("SC_CLK_TCK")
    return started <= reported_at + START_SLACK_S
