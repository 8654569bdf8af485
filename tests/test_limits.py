"""Time limits really stop the work."""

from __future__ import annotations

import os
import time

import pytest

from fileproc_dagster.errors import StepTimeout
from fileproc_dagster.limits import Worker, deadline


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
