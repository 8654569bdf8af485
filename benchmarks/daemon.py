"""The real path: ``dagster-daemon`` on a fresh installation, files dropped into its upload
directory, records watched until every file has ended.

Only stable seams are used: the code location module, the documented environment variables,
``fileproc init``, the records database (``Records(url).files.all()``) and Dagster's public
instance API (run counts). Nothing assumes how many runs a file takes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterable, Mapping
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import psutil

from benchmarks.common import (
    TERMINAL,
    bin_path,
    dir_breakdown,
    dir_bytes,
    fileproc_env,
    fileproc_init,
    log,
    stop_group,
)
from benchmarks.procs import TreeMonitor
from fileproc_dagster.storage.records import Record, Records

ACTIVE_RUNS = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED,
               dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED,
               dg.DagsterRunStatus.CANCELING]


class DaemonSession:
    """One daemon over one FILEPROC_HOME; start(), drop files, wait, stop()."""

    def __init__(self, root: Path, module: str = "fileproc_dagster.definitions",
                 interval_s: int = 3, dagster_pg: str | None = None,
                 records_url: str | None = None, extra_env: Mapping[str, str] | None = None
                 ) -> None:
        self.root = root
        self.home = root / "home"
        self.dagster_home = root / "dagster_home"
        self.upload_dir = self.home / "uploads"
        self.env = fileproc_env(self.home, self.dagster_home, interval_s, db_url=records_url,
                                **(extra_env or {}))
        self.dagster_pg = dagster_pg
        self.module = module
        self.records = Records(self.env["FILEPROC_DB_URL"])
        self.log_path = root / "daemon.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.monitor: TreeMonitor | None = None
        self._instance: dg.DagsterInstance | None = None

    def start(self) -> DaemonSession:
        fileproc_init(self.env, self.dagster_pg)
        with open(self.log_path, "wb") as out:
            self.process = subprocess.Popen(
                [bin_path("dagster-daemon"), "run", "-m", self.module], env=self.env,
                cwd=self.root, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.monitor = TreeMonitor(self.process.pid).start()
        return self

    @property
    def instance(self) -> dg.DagsterInstance:
        if self._instance is None:
            self._instance = dg.DagsterInstance.from_config(str(self.dagster_home))
        return self._instance

    def drop(self, path: Path) -> float:
        """Copy a file in the way uploads should arrive (hidden temporary name, then rename);
        returns the time (epoch s) it appeared under its name."""
        temporary = self.upload_dir / f".{path.name}.part"
        shutil.copyfile(path, temporary)
        os.rename(temporary, self.upload_dir / path.name)
        return time.time()

    def drop_all(self, paths: Iterable[Path]) -> dict[str, float]:
        return {p.name: self.drop(p) for p in paths}

    def wait_ended(self, names: Iterable[str], timeout_s: float) -> dict[str, Record]:
        """Wait until each named upload has a record in a terminal state."""
        wanted = set(names)
        deadline = time.monotonic() + timeout_s
        while True:
            ended = {r.name: r for r in self.records.files.all()
                     if r.name in wanted and r.state in TERMINAL}
            if len(ended) == len(wanted):
                return ended
            if time.monotonic() > deadline or (self.process and self.process.poll() is not None):
                self.fail(f"{len(ended)}/{len(wanted)} files ended within {timeout_s:.0f} s")
            time.sleep(0.5)

    def active_runs(self) -> int:
        return self.instance.get_runs_count(dg.RunsFilter(statuses=ACTIVE_RUNS))

    def wait_idle(self, timeout_s: float = 300) -> None:
        """Wait until no run is queued or running (the last run workers have exited)."""
        deadline = time.monotonic() + timeout_s
        while self.active_runs():
            if time.monotonic() > deadline:
                self.fail(f"runs still active after {timeout_s:.0f} s")
            time.sleep(0.5)

    def fail(self, message: str) -> None:
        tail = self.log_path.read_text(errors="replace")[-3000:]
        states: dict[str, int] = {}
        for record in self.records.files.all():
            states[record.state] = states.get(record.state, 0) + 1
        raise RuntimeError(f"{message}; records by state {states}\n--- daemon log tail ---\n"
                           f"{tail}")

    def dagster_bytes(self) -> int:
        """Size of DAGSTER_HOME: run/event/schedule storage, compute logs (not the records DB
        or the object store, which live under FILEPROC_HOME), plus the PostgreSQL database
        holding Dagster's storage when there is one."""
        return dir_bytes(self.dagster_home) + (pg_bytes(self.dagster_pg) if self.dagster_pg
                                               else 0)

    def dagster_breakdown(self) -> dict[str, int]:
        """DAGSTER_HOME's bytes by part (see ``dir_breakdown``), and the PostgreSQL database."""
        parts = dir_breakdown(self.dagster_home)
        if self.dagster_pg:
            parts["postgres database"] = pg_bytes(self.dagster_pg)
        return parts

    def stop(self) -> None:
        """SIGTERM the daemon's process group, then SIGKILL whatever is left of the tree."""
        if self.process is None:
            return
        stop_group(self.process, 60, 30)
        if self.monitor is not None:
            for proc in psutil.Process().children(recursive=True):  # orphans of the tree
                if proc.pid != self.process.pid:
                    with suppress(psutil.NoSuchProcess):
                        proc.kill()
            time.sleep(0.5)
            self.monitor.stop()
        if self._instance is not None:
            self._instance.dispose()
            self._instance = None
        self.process = None


def pg_bytes(url: str) -> int:
    """Size on disk of the PostgreSQL database at ``url`` (tables, indexes, TOAST)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT pg_database_size(current_database())"))
                       .scalar_one())
    finally:
        engine.dispose()


def done_time(record: Record, created: bool = False) -> float:
    """When a record reached its terminal state (epoch s); with ``created``, when the sensor
    registered the upload."""
    stamp: datetime | None = record.created_at if created else record.updated_at
    if stamp is None:
        raise ValueError(f"record {record.key} has no update time")
    if stamp.tzinfo is None:  # SQLite hands back the stored UTC time without its zone
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def warm_up(session: DaemonSession, path: Path, timeout_s: float = 300) -> float:
    """Drop one file and wait for it (daemon, code server and sensor up); seconds taken."""
    started = time.time()
    session.drop(path)
    session.wait_ended([path.name], timeout_s)
    session.wait_idle()
    elapsed = time.time() - started
    log(f"warm-up file done {elapsed:.1f} s after the daemon started")
    return elapsed
