"""A burst of 1,000 small files through the real daemon, with the daemon SIGKILLed half-way
and started again: every file done exactly once, every sensor tick far below Dagster's 60 s
limit, and the memory of the daemon and everything it started bounded."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import dagster as dg
import pytest
from daemon import (
    Daemon,
    leftovers,
    live_runs,
    make_png,
    make_text,
    notifications,
    objects,
    run_notices,
    running,
    states,
)

from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Records
from fileproc_dagster.workers.worker import tree_rss

# A thousand files through the daemon need the machine to themselves: run alone, afterwards.
pytestmark = [pytest.mark.slow, pytest.mark.serial]

COUNT = 1000
KILL_AFTER = COUNT // 3  # files done when the daemon is killed
# Dagster gives a sensor evaluation 60 s; a tick's duration also counts creating its runs
# (about 0.1-0.25 s per partition on SQLite, a queue's worth of partitions per tick).
MAX_TICK_S = 45.0
MAX_RSS = 3 * 2**30


class RssSampler(threading.Thread):
    """Peak resident memory of the daemon and all its children, sampled every second."""

    def __init__(self, daemon: Daemon) -> None:
        super().__init__(daemon=True)
        self.target = daemon
        self.peak = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            process = self.target.process
            if process is not None and process.poll() is None:
                self.peak = max(self.peak, tree_rss(process.pid))


def _tick_seconds(instance: dg.DagsterInstance, name: str) -> list[float]:
    state = next(s for s in instance.all_instigator_state() if s.name == name)
    ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=100_000)
    return [t.end_timestamp - t.timestamp for t in ticks if t.end_timestamp]


def test_burst_with_a_daemon_restart(settings: Settings, tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    files = [make_text(source / f"burst_{i:04d}.txt", i) if i % 2 else
             make_png(source / f"burst_{i:04d}.png", i) for i in range(COUNT)]
    records = Records(settings.db_url)
    with running(settings) as daemon:
        sampler = RssSampler(daemon)
        sampler.start()
        daemon.wait_for("the sensor's first tick", lambda: daemon.log.stat().st_size > 0, 60)
        started = time.monotonic()
        for path in files:  # same file system: each lands whole, all within a moment
            os.replace(path, settings.upload_dir / path.name)
        daemon.wait_for(f"{KILL_AFTER} files done",
                        lambda: states(records)["done"] >= KILL_AFTER, 300, every_s=1)
        done_at_kill = states(records)["done"]
        daemon.kill()
        daemon.start()

        def finished() -> bool:
            if states(records)["done"] < COUNT:
                return False
            with daemon.instance() as instance:
                return not live_runs(instance)

        daemon.wait_for(f"{COUNT} files done", finished, 600, every_s=2)
        elapsed = time.monotonic() - started
        sampler.stopped.set()
        with daemon.instance() as instance:
            ticks = _tick_seconds(instance, "upload_sensor")
            reconcile_ticks = _tick_seconds(instance, "reconcile_sensor")
            runs = instance.get_runs(dg.RunsFilter(job_name="process_file"))
    sent = notifications(settings)
    print(f"\nburst: {COUNT} files in {elapsed:.0f} s ({COUNT / elapsed:.1f} files/s), daemon "
          f"killed at {done_at_kill} done; {len(runs)} runs; upload_sensor {len(ticks)} ticks, "
          f"max {max(ticks):.2f} s; reconcile_sensor max {max(reconcile_ticks):.2f} s; "
          f"peak RSS {sampler.peak / 2**20:.0f} MiB")
    assert states(records) == {"done": COUNT}
    assert len(sent) == COUNT and set(sent.values()) == {1}
    # The runs the kill interrupted failed, and each was notified once (nothing else failed).
    assert set(run_notices(settings).values()) <= {1}
    assert len(objects(settings)) == COUNT and set(objects(settings).values()) == {1}
    assert leftovers(settings) == []
    assert max(ticks) < MAX_TICK_S and max(reconcile_ticks) < MAX_TICK_S
    assert sampler.peak < MAX_RSS
