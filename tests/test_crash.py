"""Crash matrix through the real daemon: SIGKILL after every side effect of every file type,
the daemon in the middle of a sensor tick and a run worker during a long transcription. After
automatic recovery (and, for the daemon, a restart as an operator would do) every file is done
exactly once: one object, one record, one notification, upload deleted, nothing done by hand.

All faults are armed at once in one daemon session, each firing once; files ride in batches,
so a crash also kills the healthy files of its run, which must end done all the same.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from daemon import (
    FAULTY,
    Daemon,
    commands,
    descendants,
    drop,
    leftovers,
    live_runs,
    make_png,
    make_speech,
    make_text,
    notifications,
    objects,
    run_notices,
    run_partitions,
    running,
    running_pids,
    states,
)

from fileproc_dagster.defs._dagster_compat import (
    partition_range_tags,
    report_worker_started,
    worker_pid,
)
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.schema import uploads as uploads_table
from fileproc_dagster.storage.states import State
from support import faults

KINDS: dict[str, tuple[Callable[[Path, int], Path], str]] = {
    "doc": (make_text, ".txt"), "img": (make_png, ".png"), "audio": (make_speech, ".wav")}
LECTURE = "long_lecture.mp3"  # two minutes of speech: its transcription is killed
TICK_VICTIM = "tick_victim.txt"  # the tick that registers it kills the daemon
# Described slowly (a fault), so that a run is surely in flight when the daemon dies.
IN_FLIGHT = "in_flight.txt"
IN_FLIGHT_S = 30
DEADLINE_S = 480
ORPHAN_WAIT_S = 30


@dataclass(frozen=True)
class Case:
    """One crash: which fault, on which file."""

    name: str
    point: str
    file: str

    @property
    def match(self) -> str:
        return Path(self.file).stem


def _matrix(source: Path) -> tuple[list[Case], list[Path]]:
    """A faulty file per (point, kind), each followed by a healthy one in its batch."""
    cases, files = [], []
    for n, (point, kind) in enumerate(
            (p, k) for p in faults.KILL_POINTS for k in KINDS):
        make, suffix = KINDS[kind]
        faulty = make(source / f"m{n:02d}a_{point}_{kind}{suffix}", n)
        healthy_kind = "doc" if n % 2 else "img"
        make_ok, ok_suffix = KINDS[healthy_kind]
        healthy = make_ok(source / f"m{n:02d}b_ok{ok_suffix}", 500 + n)
        cases.append(Case(f"{point} / {kind}", point, faulty.name))
        files += [faulty, healthy]
    return cases, files


def _key_of(records: Records, name: str) -> str | None:
    """The partition key of an upload once the sensor registered it."""
    with records.db.engine.begin() as conn:
        return conn.execute(sa.select(uploads_table.c.key).where(
            uploads_table.c.name == name)).scalars().first()


def _describing(instance: dg.DagsterInstance, key: str) -> tuple[str, int] | None:
    """(run id, worker pid) once a run covering ``key`` is in its file_description step."""
    for run_id, keys in run_partitions(instance).items():
        if key not in keys:
            continue
        steps = instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.STEP_START).records
        if any(r.event_log_entry.step_key == "file_description" for r in steps):
            worker = worker_pid(instance, run_id)
            return (run_id, worker[0]) if worker else None
    return None


def _first_end(instance: dg.DagsterInstance, key: str, after: float,
               status: dg.DagsterRunStatus) -> float | None:
    """When the first run covering ``key`` with ``status`` ended after ``after``."""
    covering = [run_id for run_id, keys in run_partitions(instance).items() if key in keys]
    ends = [r.end_time for r in instance.get_run_records(dg.RunsFilter(
        run_ids=covering, statuses=[status])) if r.end_time and r.end_time >= after]
    return min(ends) if ends else None


def _reconciled(instance: dg.DagsterInstance) -> int:
    """Runs the reconciliation sensor found without a worker and reported failed."""
    return sum(any("nobody reported it" in (r.event_log_entry.message or "")
                   for r in instance.get_records_for_run(
                       run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records)
               for run in instance.get_runs(dg.RunsFilter(job_name="process_file")))


def _all_finished(daemon: Daemon, records: Records, count: int) -> bool:
    every = records.files.all()
    if len(every) < count or any(r.state != "done" for r in every):
        return False
    with daemon.instance() as instance:
        return not live_runs(instance)


def _kill_worker_mid_transcription(daemon: Daemon, records: Records
                                   ) -> tuple[float, str, list[int]]:
    """SIGKILL the run worker 1.5 s into the lecture's description: when, the record's state
    then, and the worker's children (its extraction process)."""
    key = daemon.wait_for("the lecture to be registered", lambda: _key_of(records, LECTURE), 60)
    with daemon.instance() as instance:
        _, pid = daemon.wait_for("the lecture's description to start",
                                 lambda: _describing(instance, key), 120, every_s=0.2)
    time.sleep(1.5)
    record, children = records.files.get(key), descendants(pid)
    os.kill(pid, signal.SIGKILL)
    return time.time(), record.state if record else "?", children


@pytest.mark.slow
def test_crash_matrix(settings: Settings, corpus: Path, tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    cases, files = _matrix(source)
    (source / TICK_VICTIM).write_text("Registered by the tick that dies.\n")
    (source / IN_FLIGHT).write_text("Still being described when the daemon dies.\n")
    marks = settings.home / "faults"
    spec = ",".join([*(f"{c.point}={c.match}" for c in cases), f"in_tick={Path(TICK_VICTIM).stem}",
                     f"slow_describe={Path(IN_FLIGHT).stem}:{IN_FLIGHT_S}"])
    env = {"FILEPROC_FAULTS": spec, "FILEPROC_FAULTS_DIR": str(marks), "FILEPROC_MAX_BATCH": "4"}
    records = Records(settings.db_url)
    started = time.monotonic()
    with running(settings, env, FAULTY) as daemon:
        drop(settings, corpus / "lecture_3740.mp3", LECTURE)
        worker_killed_at, state_at_kill, orphans = _kill_worker_mid_transcription(
            daemon, records)
        for path in files:
            drop(settings, path)
        # The killed worker's extraction process must not live on, holding memory.
        while running_pids(orphans) and time.time() - worker_killed_at < ORPHAN_WAIT_S:
            time.sleep(0.5)
        orphans_s, lingering = time.time() - worker_killed_at, commands(running_pids(orphans))
        daemon.wait_for("a few files done", lambda: states(records)["done"] >= 4, 180)
        drop(settings, source / IN_FLIGHT)
        in_flight = daemon.wait_for("the in-flight file to be registered",
                                    lambda: _key_of(records, IN_FLIGHT), 60)
        with daemon.instance() as instance:
            daemon.wait_for("its description to start",
                            lambda: _describing(instance, in_flight), 240, every_s=0.2)
        drop(settings, source / TICK_VICTIM)
        daemon.wait_for("the daemon to die in its tick", lambda: not daemon.alive(), 60, 0.1)
        daemon.start()  # what an operator (or a service manager) does
        total = len(files) + 3
        daemon.wait_for(f"{total} files done and no run left",
                        lambda: _all_finished(daemon, records, total), DEADLINE_S, every_s=2)
        elapsed = time.monotonic() - started
        with daemon.instance() as instance:
            rows = _report(settings, records, instance, cases, worker_killed_at)
            reconciled = _reconciled(instance)
            shown = instance.get_materialized_partitions(dg.AssetKey("processed_file"))
    print(f"\ncrash matrix: {total} files, {len(rows)} crashes, {elapsed:.0f} s, "
          f"daemon starts {daemon.starts}; {len(orphans) - len(lingering)} of the killed "
          f"worker's {len(orphans)} children exited within {orphans_s:.1f} s; {reconciled} "
          "run(s) found dead by reconcile_sensor")
    print("case | recovered | run failed after s | succeeded after s | objects | records | "
          "notifications | upload deleted | manual actions")
    for row in rows:
        print(" | ".join(str(x) for x in row))
    fired = faults.fired(marks)
    assert len(fired) == len(cases) + 2, sorted(fired)
    assert state_at_kill == "stored", "the worker was not killed during the description"
    assert leftovers(settings) == []
    assert len(records.files.all()) == total
    assert {r.key for r in records.files.all()} <= shown  # every file done in Dagster too
    assert all(n == 1 for n in notifications(settings).values()), notifications(settings)
    assert len(notifications(settings)) == total
    assert set(run_notices(settings).values()) <= {1}  # each failed run notified once
    assert len(objects(settings)) == total and set(objects(settings).values()) == {1}
    assert all(row[1] == "yes" for row in rows), rows
    assert reconciled >= 1, "no run was in flight when the daemon died"
    assert not lingering, f"the killed run worker's children live on: {lingering}"


def _report(settings: Settings, records: Records, instance: dg.DagsterInstance,
            cases: list[Case], worker_killed_at: float) -> list[tuple[object, ...]]:
    """One row per crash: case, recovered, seconds until its run was reported failed and until
    a run covering it succeeded, objects, records, notifications, upload deleted, manual
    actions."""
    fired = faults.fired(settings.home / "faults")
    by_name = {r.name: r for r in records.files.all()}
    crashes = [(c.name, c.file, float(fired.get(faults.Fault(c.point, c.match).marker, {})
                                      .get("at", 0) or 0), 0) for c in cases]
    tick_marker = faults.Fault("in_tick", Path(TICK_VICTIM).stem).marker
    tick_at = float(fired.get(tick_marker, {}).get("at", 0) or 0)
    crashes.append(("daemon killed in a sensor tick", TICK_VICTIM, tick_at, 1))
    crashes.append(("run in flight when the daemon died", IN_FLIGHT, tick_at, 1))
    crashes.append(("run worker killed mid-transcription", LECTURE, worker_killed_at, 0))
    stored = objects(settings)
    sent = notifications(settings)
    rows: list[tuple[object, ...]] = []
    for name, file, at, restarts in crashes:
        record = by_name[file]
        end = _first_end(instance, record.key, at, dg.DagsterRunStatus.SUCCESS) if at else None
        failed = _first_end(instance, record.key, at, dg.DagsterRunStatus.FAILURE) if at else None
        done_once = (record.state == "done" and stored[record.sha256] == 1
                     and sent[(record.key, "processed")] == 1)
        rows.append((name, "yes" if end and done_once else "no",
                     f"{failed - at:.1f}" if failed else "-",
                     f"{end - at:.1f}" if end else "-", stored[record.sha256],
                     sum(r.sha256 == record.sha256 for r in by_name.values()),
                     sum(n for (k, _), n in sent.items() if k == record.key),
                     file not in leftovers(settings),
                     "0" + (" (daemon restarted)" if restarts else "")))
    return rows


# -- the reconciliation sensor, one case per situation (no daemon) ---------------------------

def _started_run(instance: dg.DagsterInstance, pid: int) -> dg.DagsterRun:
    """A STARTED run of process_file whose worker logged ``pid``, as the launcher's do."""
    run = instance.add_run(dg.DagsterRun(job_name="process_file",
                                         status=dg.DagsterRunStatus.STARTED))
    report_worker_started(instance, run, pid)
    return run


def _reconcile(settings: Settings, instance: dg.DagsterInstance,
               cursor: str | None = None) -> dg.SensorResult:
    from fileproc_dagster.defs.reconcile import reconcile_sensor
    from support.resources import fileproc_of

    with dg.build_sensor_context(instance=instance, cursor=cursor,
                                 resources={"fileproc": fileproc_of(settings)}) as context:
        result = reconcile_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def test_reconcile_fails_runs_whose_worker_is_gone(settings: Settings) -> None:
    gone = subprocess.Popen(["sleep", "60"])
    gone.kill()
    gone.wait()
    with dg.instance_for_test() as instance:
        dead = _started_run(instance, gone.pid)
        alive = _started_run(instance, os.getpid())
        first = _reconcile(settings, instance)
        # Seen gone once: suspected, not failed (its code server may be reporting it).
        assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.STARTED
        suspects = json.loads(first.cursor or "")["suspects"]
        assert list(suspects) == [dead.run_id]
        earlier = json.dumps({"suspects": {dead.run_id: suspects[dead.run_id] - 10}})
        _reconcile(settings, instance, earlier)
        assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(alive.run_id).status == dg.DagsterRunStatus.STARTED


def test_reconcile_requests_files_whose_runs_failed_for_good(settings: Settings) -> None:
    from fileproc_dagster.defs.reconcile import stalled_requests
    from fileproc_dagster.defs.resources import RecordsResource
    from fileproc_dagster.storage.schema import contents as contents_table

    records = Records(settings.db_url)
    keys = [records.uploads.receive(f"stalled_{i}-{i:012d}", f"stalled_{i}.txt", f"{i:064x}", 10,
                                    i).key for i in range(3)]
    with records.db.engine.begin() as conn:  # registered, never recorded: the runs died first
        conn.execute(contents_table.update().values(received_at=datetime.now(UTC)
                                                    - timedelta(minutes=5)))
    resource = RecordsResource(url=settings.db_url)
    later = datetime.now(UTC) + timedelta(minutes=2)  # the runs below ended long ago by then
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("uploads", keys)
        # Waiting for a first run is the upload sensor's business, however long it takes.
        assert stalled_requests(instance, resource, later) == []
        instance.add_run(dg.DagsterRun(
            job_name="process_file", status=dg.DagsterRunStatus.FAILURE,
            tags=partition_range_tags(keys[0], keys[1])))
        # Failed just now: run retries may still pick it up.
        assert stalled_requests(instance, resource, datetime.now(UTC)) == []
        requested = stalled_requests(instance, resource, later)
        assert [r.partition_key for r in requested] == keys[:2]
        instance.add_run(dg.DagsterRun(job_name="process_file",
                                       status=dg.DagsterRunStatus.STARTING,
                                       tags={"dagster/partition": keys[0]}))
        requested = stalled_requests(instance, resource, later)
        assert [r.partition_key for r in requested] == keys[1:2]
        records.files.insert(keys[1], State.STORED)
        for state in (State.DESCRIBED, State.DONE):
            records.files.advance(keys[1], state)
        assert stalled_requests(instance, resource, later) == []
