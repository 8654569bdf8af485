"""Time limits that really stop the work.

Dagster has no step timeout below the run level. Extraction runs in a worker process that is
killed when it overruns (and keeps its loaded models between files while it behaves); short
I/O steps get an alarm-based deadline in the main thread.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, TypeVar

from fileproc_dagster.errors import StepTimeout, TransientError

log = logging.getLogger(__name__)
T = TypeVar("T")


@contextmanager
def deadline(seconds: float, what: str) -> Iterator[None]:
    """Raise StepTimeout inside the block once ``seconds`` have passed (main thread only).

    Off the main thread (where signals cannot be delivered) the block runs unbounded and a
    warning says so.
    """
    if seconds <= 0:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        log.warning("%s: no deadline off the main thread", what)
        yield
        return

    def _expired(_signum: int, _frame: Any) -> None:
        raise StepTimeout(f"{what} took longer than its {seconds:g} s timeout")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Worker:
    """One long-lived worker process; killed and replaced when a call overruns its limit."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def kill(self) -> None:
        """Stop the worker process now, whatever it is doing."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def call(self, fn: Callable[..., T], *args: Any, timeout_s: float, what: str) -> T:
        """Run ``fn(*args)`` in the worker; StepTimeout (worker killed) past ``timeout_s``."""
        with self._lock:
            future = self._executor().submit(fn, *args)
            try:
                return future.result(timeout=timeout_s if timeout_s > 0 else None)
            except FutureTimeout:
                self.kill()
                raise StepTimeout(
                    f"{what} took longer than its {timeout_s:g} s timeout; the worker "
                    "process was stopped") from None
            except BrokenProcessPool:
                self.kill()
                raise TransientError(
                    f"{what}: the worker process died (out of memory or crashed)") from None


_worker = Worker()
atexit.register(_worker.kill)


def run_bounded(fn: Callable[..., T], *args: Any, timeout_s: float, what: str) -> T:
    """Run ``fn(*args)`` in this process's shared extraction worker, bounded in time."""
    return _worker.call(fn, *args, timeout_s=timeout_s, what=what)
