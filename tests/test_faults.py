"""Fault injection stays inert unless armed, fires once; and transient faults through the real
daemon (object store down for 20 s, records database locked for 20 s, an extraction past its
timeout) are absorbed by step retries and waits, nothing lost, every failure in the event log."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
from daemon import (
    FAULTY,
    Daemon,
    drop,
    leftovers,
    live_runs,
    make_png,
    make_speech,
    make_text,
    notifications,
    run_partitions,
    running,
    venv_bin,
    with_tests_on_path,
)

from fileproc_dagster.errors import StepTimeout
from fileproc_dagster.hooks import NO_HOOKS, Hooks, Point
from fileproc_dagster.intake.admit import receive
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Records
from fileproc_dagster.workers.worker import run_bounded
from support import faults

OUTAGE_S = 20
LOCK_S = 20
STALL_S = 40
TIMEOUT_S = 8


@pytest.fixture()
def armed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Arm faults in this process through a marker directory (monkeypatch disarms them)."""
    monkeypatch.setenv(faults.FAULTS_DIR_VAR, str(tmp_path / "marks"))
    return tmp_path / "marks"


def _arm(monkeypatch: pytest.MonkeyPatch, spec: str) -> Hooks:
    monkeypatch.setenv(faults.FAULTS_VAR, spec)
    return faults.from_env()


def test_unarmed_hooks_do_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(faults.FAULTS_VAR, raising=False)
    hooks = faults.from_env()
    hooks.at(Point.AFTER_PUT, "letter_8781-abc")  # would SIGKILL pytest if armed
    hooks.at(Point.BEFORE_PUT, "letter_8781-abc")
    assert hooks.extraction(time.sleep, "letter_8781-abc") is time.sleep
    # Armed points without a marker directory stay inert too: they could not fire once.
    monkeypatch.setenv(faults.FAULTS_VAR, "after_put=letter")
    monkeypatch.delenv(faults.FAULTS_DIR_VAR, raising=False)
    faults.from_env().at(Point.AFTER_PUT, "letter_8781-abc")


def test_only_the_faulty_location_arms_faults(settings: Settings, armed: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from fileproc_dagster.definitions import defs
    from support.faulty_location import defs as faulty

    def hooks(loaded: dg.Definitions) -> object:
        # As a step or a sensor tick gets it: re-created by Dagster from its configuration.
        with dg.build_resources({"fileproc": loaded.resources["fileproc"]}) as built:
            return built.fileproc.hooks()

    monkeypatch.setenv(faults.FAULTS_VAR, "after_put=letter")
    assert hooks(defs()) is NO_HOOKS
    assert isinstance(hooks(faulty()), faults.FaultHooks)
    monkeypatch.delenv(faults.FAULTS_VAR)  # armed by each process's own environment
    assert hooks(faulty()) is NO_HOOKS


def test_parse_rejects_unknown_points() -> None:
    assert faults.parse("after_put=a, store_outage=b:20") == (
        faults.Fault("after_put", "a"), faults.Fault("store_outage", "b", 20.0))
    with pytest.raises(ValueError, match="bad FILEPROC_FAULTS entry"):
        faults.parse("after_lunch=a")


def test_outage_fires_once_and_ends(armed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = _arm(monkeypatch, "store_outage=outage:1")
    hooks.at(Point.BEFORE_PUT, "healthy-1")  # not triggered by other files
    with pytest.raises(OSError, match="object store unavailable"):
        hooks.at(Point.BEFORE_PUT, "outage-123")
    with pytest.raises(OSError):  # every put fails while it lasts
        hooks.at(Point.BEFORE_PUT, "healthy-1")
    time.sleep(1.1)
    hooks.at(Point.BEFORE_PUT, "outage-123")  # over, and never again
    assert list(faults.fired(armed)) == ["store_outage_outage"]


def test_slow_describe_overruns_once(armed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = _arm(monkeypatch, "slow_describe=slow:30")
    with pytest.raises(StepTimeout, match="describing 'slow.wav' took longer than its 1 s"):
        run_bounded(hooks.extraction(os.getpid, "slow-1", "slow.wav"), timeout_s=1,
                    what="describing 'slow.wav'")
    assert hooks.extraction(os.getpid, "slow-1", "slow.wav") is os.getpid


def test_stall_runs_in_the_extraction_worker(armed: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # The stall is sent to the worker process, which must import it to run it.
    hooks = _arm(monkeypatch, "slow_describe=brief:0.1")
    worker = run_bounded(hooks.extraction(os.getpid, "brief-1"), timeout_s=120,
                         what="describing 'brief.txt'")
    assert worker != os.getpid()
    assert list(faults.fired(armed)) == ["slow_describe_brief"]


def test_crash_kills_only_once(armed: Path) -> None:
    env = with_tests_on_path({**os.environ, faults.FAULTS_VAR: "after_put=victim"})
    code = ("from support import faults; from fileproc_dagster.hooks import Point; "
            "faults.from_env().at(Point.AFTER_PUT, 'victim-1')")
    first = subprocess.run([venv_bin("python"), "-c", code], env=env, timeout=60)
    second = subprocess.run([venv_bin("python"), "-c", code], env=env, timeout=60)
    assert (first.returncode, second.returncode) == (-9, 0)
    assert faults.fired(armed)["after_put_victim"]["subjects"] == ["victim-1"]


# -- through the daemon ---------------------------------------------------------------------

def _hold_write_lock(db: Path, seconds: float, window: list[float]) -> None:
    """Another process's view of the records database: the write lock, held."""
    conn = sqlite3.connect(db, isolation_level=None, timeout=60)
    conn.execute("BEGIN EXCLUSIVE")
    window.append(time.time())
    time.sleep(seconds)
    conn.execute("COMMIT")
    window.append(time.time())
    conn.close()


def _launch_with_timeout(daemon: Daemon, settings: Settings, records: Records,
                         source: Path) -> str:
    """Process one file the launchpad way: a run of its partition with a small timeout."""
    path = drop(settings, source)
    received = receive(settings.upload_dir, path.name, records, origin="process")
    with daemon.instance() as instance:
        instance.add_dynamic_partitions("uploads", [received.key])
    config = {"ops": {"file_description": {"config": {"timeout_s": TIMEOUT_S}}}}
    subprocess.run([venv_bin("dagster"), "job", "launch", "-m", daemon.location,
                    "-j", "process_file", "--config-json", json.dumps(config),
                    "--tags", json.dumps({"dagster/partition": received.key})],
                   env=daemon.env, check=True, timeout=120, capture_output=True)
    return received.key


def _retries(instance: dg.DagsterInstance, key: str) -> list[tuple[str, str]]:
    """(step, error) of every STEP_UP_FOR_RETRY in runs covering ``key``."""
    found = []
    for run_id, keys in run_partitions(instance).items():
        if key not in keys:
            continue
        for record in instance.get_records_for_run(
                run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY).records:
            event = record.event_log_entry.dagster_event
            error = event.step_retry_data.error if event and event.step_retry_data else None
            while error is not None and error.cause is not None:
                error = error.cause  # Dagster's retry request wraps what the step raised
            found.append((record.event_log_entry.step_key or "",
                          error.message.strip() if error else ""))
    return found


@pytest.mark.slow
def test_transient_faults_are_retried(settings: Settings, tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    outage = [make_text(source / "outage_doc.txt", 1),
              *(make_png(source / f"outage_ok_{i}.png", 10 + i) for i in range(3))]
    locked = [make_text(source / f"locked_{i}.txt", 20 + i) for i in range(4)]
    slow = make_speech(source / "slow_speech.wav", 30)
    env = {faults.FAULTS_VAR: f"store_outage=outage_doc:{OUTAGE_S},"
                              f"slow_describe=slow_speech:{STALL_S}",
           faults.FAULTS_DIR_VAR: str(settings.home / "faults"), "FILEPROC_MAX_BATCH": "4"}
    records = Records(settings.db_url)
    window: list[float] = []
    started = time.monotonic()
    with running(settings, env, FAULTY) as daemon:
        slow_key = _launch_with_timeout(daemon, settings, records, slow)
        for path in locked:
            drop(settings, path)
        daemon.wait_for("a locked batch file stored", lambda: any(
            r.state == "stored" for r in records.files.all() if r.name.startswith("locked_")),
            120, every_s=0.1)
        holder = threading.Thread(target=_hold_write_lock,
                                  args=(settings.home / "records.db", LOCK_S, window))
        holder.start()
        for path in outage:
            drop(settings, path)
        holder.join(LOCK_S + 30)
        total = len(outage) + len(locked) + 1

        def finished() -> bool:
            every = records.files.all()
            with daemon.instance() as instance:
                return (len(every) == total and all(r.state == "done" for r in every)
                        and not live_runs(instance))

        daemon.wait_for("every file done", finished, 240, every_s=1)
        elapsed = time.monotonic() - started
        with daemon.instance() as instance:
            by_name = {r.name: r for r in records.files.all()}
            store_retries = _retries(instance, by_name["outage_doc.txt"].key)
            slow_retries = _retries(instance, slow_key)
            lock_retries = [r for p in locked for r in _retries(instance, by_name[p.name].key)]
    assert leftovers(settings) == []
    assert sorted(notifications(settings).values()) == [1] * total
    # The outage: storing failed and was retried with a clear reason until the store was back.
    assert store_retries and all(step == "stored_object" and "object store unavailable" in error
                                 for step, error in store_retries), store_retries
    # The overrun: the worker was stopped at the timeout, the retry went through.
    assert [step for step, _ in slow_retries] == ["file_description"], slow_retries
    assert f"took longer than its {TIMEOUT_S} s timeout" in slow_retries[0][1]
    # The lock: nothing could write while it was held; the busy timeout waited it out.
    assert len(window) == 2 and window[1] - window[0] >= LOCK_S
    updated = [_epoch(r.updated_at) for r in by_name.values() if r.updated_at]
    assert not [t for t in updated if window[0] + 0.5 < t < window[1] - 0.5]
    print(f"\ntransient faults: {total} files in {elapsed:.0f} s; store outage "
          f"{len(store_retries)} step retries; timeout {len(slow_retries)} retry; "
          f"lock {window[1] - window[0]:.1f} s, {len(lock_retries)} retries")
    for step, error in [*store_retries, *slow_retries]:
        print(f"  {step}: {error}")


def _epoch(moment: datetime) -> float:
    """Seconds since the epoch; SQLite hands back naive UTC datetimes."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
