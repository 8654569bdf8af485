"""Time limits really stop the work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fileproc_dagster.errors import MemoryLimit, StepTimeout
from fileproc_dagster.workers.worker import Worker, deadline


def test_worker_overrun_is_killed_and_replaced() -> None:
    worker = Worker()
    started = time.monotonic()
    with pytest.raises(StepTimeout, match="took longer than its 1 s timeout"):
        worker.call(time.sleep, 60, timeout_s=1, what="sleeping")
    assert time.monotonic() - started < 30
    # A fresh worker serves the next call.
    assert worker.call(os.getpid, timeout_s=60, what="pid") != os.getpid()
    worker.kill()


def test_deadline_interrupts_python_code() -> None:
    started = time.monotonic()
    with pytest.raises(StepTimeout, match="spinning took longer"), deadline(0.5, "spinning"):
        while True:
            time.sleep(0.01)
    assert time.monotonic() - started < 5


def _hog(chunk_mib: int, total_mib: int) -> int:
    """Touch memory a chunk at a time (a runaway decoder, slower than the watchdog's poll)."""
    held = []
    for _ in range(total_mib // chunk_mib):
        held.append(b"\x01" * (chunk_mib * 2**20))
        time.sleep(0.02)
    return len(held)


def _one_big_allocation(mib: int) -> int:
    return len(b"\x01" * (mib * 2**20))


def test_memory_watchdog_stops_a_runaway_worker() -> None:
    worker = Worker(memory_bytes=300 * 2**20)
    with pytest.raises(MemoryLimit, match=r"hogging used \d+ MiB of memory, over the "
                                          r"extraction worker's limit of 300 MiB"):
        worker.call(_hog, 50, 4000, timeout_s=120, what="hogging")
    # The file is judged in a fresh worker, and a fresh worker serves the next call.
    assert worker.call(_hog, 50, 100, timeout_s=60, what="a small job") == 2
    worker.kill()


def test_data_limit_turns_a_sudden_allocation_into_a_clear_error() -> None:
    # Faster than any poll: the data-segment limit (4x the RSS bound) refuses it outright.
    worker = Worker(memory_bytes=256 * 2**20)
    with pytest.raises(MemoryLimit, match="ran out of memory under the extraction worker's "
                                          "limit of 256 MiB"):
        worker.call(_one_big_allocation, 3000, timeout_s=60, what="allocating")
    assert worker.call(_one_big_allocation, 10, timeout_s=60, what="allocating") == 10 * 2**20
    worker.kill()


def _child_then_wait(pid_file: str) -> None:
    child = subprocess.Popen(["sleep", "60"])
    Path(pid_file).write_text(str(child.pid))
    child.wait()


def test_killing_the_worker_also_stops_its_children(tmp_path: Path) -> None:
    worker = Worker()
    with pytest.raises(StepTimeout):
        worker.call(_child_then_wait, str(tmp_path / "pid"), timeout_s=3, what="waiting")
    pid = int((tmp_path / "pid").read_text())
    time.sleep(0.5)
    # tesseract and friends do not outlive their worker (a zombie has no command line left)
    assert not Path(f"/proc/{pid}/cmdline").exists() or \
        Path(f"/proc/{pid}/cmdline").read_bytes() == b""


# A parent that starts a worker process and dies at once, before the worker is ready.
DYING_PARENT = """
import os, sys, time
from pathlib import Path
from fileproc_dagster.workers.worker import Worker

if __name__ == "__main__":
    pool = Worker()._executor()
    pool.submit(time.sleep, 0)
    Path(sys.argv[1]).write_text(" ".join(map(str, pool._processes)))
    os._exit(0)
"""


def test_a_worker_whose_parent_died_while_it_started_exits(tmp_path: Path) -> None:
    script = tmp_path / "dying_parent.py"
    script.write_text(DYING_PARENT)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    # No pipes: a worker left behind would hold them open and hang the wait for the parent.
    subprocess.run([sys.executable, str(script), str(tmp_path / "pid")], env=env, check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    [pid] = map(int, (tmp_path / "pid").read_text().split())
    until = time.monotonic() + 60
    while _alive(pid) and time.monotonic() < until:
        time.sleep(0.5)
    alive = _alive(pid)
    if alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, "an orphaned worker process waits for work forever"


def _alive(pid: int) -> bool:
    """A running process (not a zombie), by its /proc entry."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
