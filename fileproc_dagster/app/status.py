"""How one installation is doing right now: the daemon, sensors, queues, records, quarantine.

What ``fileproc status`` shows, read from the sources themselves on each call: the Dagster
instance of DAGSTER_HOME (daemon heartbeats, sensor ticks, runs), the records database and
the upload and quarantine directories. The daemon counts as up when every daemon the instance
needs has beaten within ``stale_after_s`` seconds (Dagster's daemons beat every 30 s).

Example::

    snapshot = take_snapshot(Settings.from_env())
    snapshot.daemon_up, snapshot.runs["queued"], snapshot.last_day
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from typing import Any

import dagster as dg

from fileproc_dagster.defs._dagster_compat import (
    Heartbeat,
    SensorTick,
    daemon_heartbeats,
    required_daemons,
    sensor_ticks,
)
from fileproc_dagster.intake.census import QuarantineUsage, quarantine_usage, unregistered
from fileproc_dagster.secrets import hide_userinfo
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.files import now
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.states import State

# Three of Dagster's 30-second heartbeats missed: the daemon is down, not merely busy.
DEFAULT_STALE_AFTER_S = 90.0
RUN_STATUSES = {"queued": [dg.DagsterRunStatus.QUEUED],
                "running": [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]}


@dataclass(frozen=True)
class DaemonBeat:
    """One daemon the instance needs: seconds since its last heartbeat (None: never)."""

    daemon: str
    age_s: float | None
    healthy: bool
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    """Everything ``fileproc status`` reports, as read at one moment."""

    dagster_home: str
    daemon_up: bool
    daemons: list[DaemonBeat]
    sensors: list[SensorTick]
    runs: dict[str, int]
    uploads_waiting: int  # in the upload directory, not registered yet (settling or unseen)
    uploads_pending: int  # registered and still in the upload directory
    last_hour: dict[str, int]
    last_day: dict[str, int]
    notifications_owed: int
    quarantine: QuarantineUsage
    problems: list[str] = field(default_factory=list)  # sources that could not be read

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def daemon_health(beats: dict[str, Heartbeat], required: list[str], at: float,
                  stale_after_s: float) -> list[DaemonBeat]:
    """Each required daemon, healthy when it beat within ``stale_after_s`` of ``at``."""
    found = []
    for daemon in required:
        beat = beats.get(daemon)
        age = max(0.0, at - beat.timestamp) if beat else None
        found.append(DaemonBeat(daemon, age, age is not None and age <= stale_after_s,
                                tuple(map(hide_userinfo, beat.errors)) if beat else ()))
    return found


def _states(counts: dict[State, int]) -> dict[str, int]:
    return {str(state): counts.get(state, 0) for state in State}


def open_instance(settings: Settings) -> dg.DagsterInstance | None:
    """The Dagster instance of the settings' DAGSTER_HOME; None when it was never created."""
    if not (settings.dagster_home / "dagster.yaml").is_file():
        return None
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    return dg.DagsterInstance.get()


def take_snapshot(settings: Settings, stale_after_s: float = DEFAULT_STALE_AFTER_S,
                  ) -> Snapshot:
    """Read every source once; a source that cannot be read is named in ``problems``."""
    problems: list[str] = []
    daemons: list[DaemonBeat] = []
    sensors: list[SensorTick] = []
    runs = dict.fromkeys(RUN_STATUSES, 0)
    instance = open_instance(settings)
    if instance is None:
        problems.append(f"no Dagster instance in {settings.dagster_home} (run 'fileproc init')")
    else:
        with instance:
            daemons = daemon_health(daemon_heartbeats(instance), required_daemons(instance),
                                    time.time(), stale_after_s)
            # An error may quote a database or broker URL: shown without its login.
            sensors = [replace(s, error=hide_userinfo(s.error)) if s.error else s
                       for s in sensor_ticks(instance)]
            for name, statuses in RUN_STATUSES.items():
                runs[name] = len(instance.get_run_records(dg.RunsFilter(statuses=statuses)))
    records = Records(settings.db_url)
    moment = now()
    return Snapshot(
        dagster_home=str(settings.dagster_home),
        daemon_up=bool(daemons) and all(d.healthy for d in daemons),
        daemons=daemons, sensors=sensors, runs=runs,
        uploads_waiting=unregistered(settings.upload_dir, records.uploads.pending_names()),
        uploads_pending=records.uploads.pending_count(),
        last_hour=_states(records.files.states_since(moment - timedelta(hours=1))),
        last_day=_states(records.files.states_since(moment - timedelta(days=1))),
        notifications_owed=records.ledger.owed(),
        quarantine=quarantine_usage(settings.quarantine_dir),
        problems=problems)
