"""Run-failure alerts through the real daemon: a run whose worker was killed and that its run
retry then completed alerts nobody; a file whose every attempt is killed, run retries used up,
gets exactly one alert, naming the file left failed, on the outbox and on a real webhook."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from daemon import (
    FAULTY,
    Daemon,
    drop,
    live_runs,
    make_text,
    notifications,
    outbox,
    run_notices,
    running,
)

from fileproc_dagster.defs._dagster_compat import (
    WILL_RETRY,
    retry_number,
    run_will_retry,
    sensor_ticks,
)
from fileproc_dagster.defs.failures import run_failure_notifier
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Record, Records
from support import faults

pytestmark = pytest.mark.slow

# Every attempt of the doomed file is killed one side effect further: the first run and its
# three run retries (app/dagster.yaml and the job's dagster/max_retries).
ATTEMPTS = ("after_put", "after_detect", "after_insert", "after_describe")
TIMEOUT_S = 300


def _env(settings: Settings, spec: str, webhook: Any) -> dict[str, str]:
    return {faults.FAULTS_VAR: spec, faults.FAULTS_DIR_VAR: str(settings.home / "faults"),
            "FILEPROC_NOTIFY_URLS": webhook.url()}


def _notifier_ticked(daemon: Daemon, since: float) -> bool:
    """Whether a tick of the failure notifier started after ``since`` and has ended (so it
    saw every run that had failed by then)."""
    with daemon.instance() as instance:
        return any(tick.name == run_failure_notifier.name and tick.timestamp is not None
                   and tick.timestamp > since and tick.status != "started"
                   for tick in sensor_ticks(instance))


def _settle(daemon: Daemon) -> None:
    """Wait until the notifier has looked at every run failed so far, twice over."""
    for _ in range(2):
        daemon.wait_for("a failure notifier tick",
                        partial(_notifier_ticked, daemon, time.time()), 60)


def _runs(daemon: Daemon) -> list[tuple[int, dg.DagsterRunStatus, str | None, bool, str]]:
    """(retry number, status, will_retry tag, decision, run id) of every process_file run."""
    with daemon.instance() as instance:
        runs = instance.get_runs(dg.RunsFilter(job_name="process_file"))
        return sorted((retry_number(run), run.status, run.tags.get(WILL_RETRY),
                       run.status == dg.DagsterRunStatus.FAILURE
                       and run_will_retry(instance, run), run.run_id) for run in runs)


def _record(records: Records, name: str) -> Record | None:
    return next((r for r in records.files.all() if r.name == name), None)


def _idle(daemon: Daemon) -> bool:
    with daemon.instance() as instance:
        return not live_runs(instance)


def test_a_killed_run_worker_healed_by_its_retry_alerts_nobody(
        settings: Settings, tmp_path: Path, webhook_receiver: Any) -> None:
    source = make_text(tmp_path / "healed_memo.txt", 1)
    records = Records(settings.db_url)
    started = time.monotonic()
    with running(settings, _env(settings, "after_put=healed_memo", webhook_receiver),
                 FAULTY) as daemon:
        # The notifier starts from the failures after its first tick: it must watch this one.
        daemon.wait_for("the failure notifier's first tick",
                        lambda: _notifier_ticked(daemon, 0), 120)
        drop(settings, source)
        daemon.wait_for("the file done", lambda: (r := _record(records, source.name))
                        and r.state == "done" and _idle(daemon), TIMEOUT_S, every_s=1)
        _settle(daemon)
        runs = _runs(daemon)
    elapsed = time.monotonic() - started
    assert list(faults.fired(settings.home / "faults")) == ["after_put_healed_memo"]
    # The killed run was failed, Dagster's run retry took it up and completed it.
    assert [(n, status, tag, decided) for n, status, tag, decided, _ in runs] == [
        (0, dg.DagsterRunStatus.FAILURE, "true", True),
        (1, dg.DagsterRunStatus.SUCCESS, None, False)]
    # Nothing for anyone to do: no alert anywhere, the file's own notice once.
    assert run_notices(settings) == {}
    assert sorted(notifications(settings).values()) == [1]
    assert len(webhook_receiver.accepted) == 1
    assert webhook_receiver.accepted[0].startswith(f"Processed {source.name}")
    print(f"\nhealed: killed after its put, retried and done in {elapsed:.0f} s, no alert")


def test_run_retries_used_up_alert_once_naming_the_file_left_failed(
        settings: Settings, tmp_path: Path, webhook_receiver: Any) -> None:
    source = make_text(tmp_path / "doomed_memo.txt", 2)
    records = Records(settings.db_url)
    spec = ",".join(f"{point}=doomed_memo" for point in ATTEMPTS)
    started = time.monotonic()
    with running(settings, _env(settings, spec, webhook_receiver), FAULTY) as daemon:
        daemon.wait_for("the failure notifier's first tick",
                        lambda: _notifier_ticked(daemon, 0), 120)
        drop(settings, source)
        daemon.wait_for("the alert", lambda: run_notices(settings), TIMEOUT_S, every_s=1)
        alerted = time.monotonic() - started
        _settle(daemon)  # time for a second alert, were one sent
        runs = _runs(daemon)
        record = _record(records, source.name)
    assert sorted(faults.fired(settings.home / "faults")) == sorted(
        f"{point}_doomed_memo" for point in ATTEMPTS)
    # Four attempts, each killed; Dagster retried the first three and not the last.
    assert [(n, status, tag, decided) for n, status, tag, decided, _ in runs] == [
        (n, dg.DagsterRunStatus.FAILURE, tag, tag == "true")
        for n, tag in enumerate(("true", "true", "true", "false"))]
    last = runs[-1][-1]
    assert run_notices(settings) == {last: 1}
    [alert] = [n for n in outbox(settings) if n["event"].startswith("run-failed:")]
    assert record is not None and record.state == "stored"  # killed after its description
    assert alert["key"] == record.key
    assert f"Run {last} of process_file failed after 3 run retries (1 file(s))" \
        in alert["message"]
    assert f"left failed: {source.name} ({record.key}, stored)" in alert["message"]
    # The real target got that alert once, and nothing else (the file is not done).
    assert webhook_receiver.accepted == [alert["message"]]
    print(f"\nretries used up: {len(runs)} attempts killed, one alert after {alerted:.0f} s: "
          f"{alert['message']}")
