"""What crash recovery needs to know, free of Dagster: is a run worker alive, which files stall.

A run worker killed together with its code server (a daemon or host crash) leaves its run
STARTED with nobody left to report it; these checks let the reconciliation sensor see it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import sqlalchemy as sa

from fileproc_dagster.storage.records import STATES, RecordStore, files, notifications

PROC = Path("/proc")
UNFINISHED = STATES[:-1]
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


def stalled(records: RecordStore, idle_since: datetime, limit: int = 500) -> list[
        tuple[str, datetime]]:
    """Unfinished files (received, stored, described) untouched since ``idle_since``.

    Keys with their last update, oldest first: what a run that died for good left behind.
    """
    query = (sa.select(files.c.key, files.c.updated_at)
             .where(files.c.state.in_(UNFINISHED), files.c.updated_at < idle_since)
             .order_by(files.c.updated_at).limit(limit))
    with records.engine.connect() as conn:
        # SQLite hands back naive datetimes; every stored time is UTC.
        return [(key, updated if updated.tzinfo else updated.replace(tzinfo=UTC))
                for key, updated in conn.execute(query)]


def unsent(records: RecordStore, idle_since: datetime, limit: int = 500) -> list[
        tuple[str, str, str]]:
    """Notifications never stamped sent for files untouched since ``idle_since``.

    (key, event, message): what a notification target that stayed down through every step
    retry left behind; the ledger holds the message, so it can be sent again as it was.
    """
    query = (sa.select(notifications.c.key, notifications.c.event, notifications.c.message)
             .join(files, files.c.key == notifications.c.key)
             .where(notifications.c.sent_at.is_(None), files.c.updated_at < idle_since)
             .order_by(files.c.updated_at, notifications.c.event).limit(limit))
    with records.engine.connect() as conn:
        return [(key, event, message) for key, event, message in conn.execute(query)]
