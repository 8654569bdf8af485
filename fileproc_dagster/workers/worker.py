"""Time and memory limits that really stop the work.

Dagster has no step timeout below the run level. Extraction runs in a worker process that is
killed when it overruns its time or memory limit (and keeps its loaded models between files
while it behaves); short I/O steps get an alarm-based deadline in the main thread.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import multiprocessing.util
import os
import resource
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from fileproc_dagster.errors import Cancelled, MemoryLimit, StepTimeout, TransientError
from fileproc_dagster.workers.processes import descendants, tree_rss

log = logging.getLogger(__name__)
T = TypeVar("T")

# Peak RSS measured on the development corpus: 190-210 MiB for OCR of 300 dpi pages and a
# 6000x4000 photo, 460 MiB for a 2-minute whisper transcription. 2 GiB leaves room for
# bigger whisper models and long pages while still stopping a runaway decoder.
DEFAULT_MEMORY_BYTES = 2 * 2**30
# The watchdog looks at resident memory; the data-segment limit backs it up against
# allocations faster than its poll. The data segment also counts reserved, untouched arenas
# (faster-whisper reserves ~3x what it touches), so it sits well above the RSS limit.
DATA_LIMIT_FACTOR = 4
POLL_S = 0.05


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


def _exit_with_parent(parent: int) -> None:
    """Stop this worker once the process that started it is gone (e.g. SIGKILLed): the pool's
    queue holds its own write end, so the worker would otherwise wait for work forever."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def available_cpus() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


_cores: int | None = None  # in a worker process: its share of the CPUs


def cores() -> int:
    """The CPUs the extraction in this process should keep busy: its worker's share when
    several workers run side by side, else all this process may use."""
    return _cores or available_cpus()


def _init_worker(limit: int | None, share: int | None = None,
                 parent: int | None = None) -> None:
    """Worker initializer: follow ``parent`` (the process that started it) out, note its share
    of the CPUs, cap the data segment (inherited by tesseract and other children)."""
    global _cores
    # The parent's pid comes from the parent: one that died while this process was still
    # starting would leave it an orphan whose getppid() is already the new parent's.
    threading.Thread(target=_exit_with_parent, args=(parent or os.getppid(),),
                     daemon=True).start()
    _cores = share
    if not limit:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    resource.setrlimit(resource.RLIMIT_DATA, (
        limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


class Worker:
    """One long-lived worker process; killed and replaced when a call overruns its limits.

    ``memory_bytes`` bounds the resident memory of the worker and its children (None: no
    bound); a call over it stops the worker and raises MemoryLimit. ``cores`` is its share of
    the CPUs (None: all), which sizes the threads of its models (see ``cores()``).
    """

    def __init__(self, memory_bytes: int | None = DEFAULT_MEMORY_BYTES,
                 cores: int | None = None) -> None:
        self.memory_bytes = memory_bytes
        self.cores = cores
        self._pool: ProcessPoolExecutor | None = None
        self._calls = 0  # calls served by the current process
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            data = self.memory_bytes * DATA_LIMIT_FACTOR if self.memory_bytes else None
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker, initargs=(data, self.cores, os.getpid()))
            self._calls = 0
        return self._pool

    def warm_up(self, fn: Callable[[], object]) -> None:
        """Start the worker process now and run ``fn`` in it, without waiting for either."""
        with self._lock:
            if self._pool is None:
                self._executor().submit(fn)

    def set_memory_limit(self, memory_bytes: int | None) -> None:
        """Change the memory bound; a running worker is replaced on the next call."""
        with self._lock:
            if memory_bytes != self.memory_bytes:
                self.memory_bytes = memory_bytes
                self.kill()

    def set_cores(self, cores: int | None) -> None:
        """Change the share of the CPUs; a running worker is replaced on the next call."""
        with self._lock:
            if cores != self.cores:
                self.cores = cores
                self.kill()

    def kill(self) -> None:
        """Stop the worker process (and what it started, e.g. tesseract) now."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        for process in list(getattr(pool, "_processes", {}).values()):
            for child in descendants(process.pid):  # before the parent: no reparenting
                with suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def call(self, fn: Callable[..., T], *args: Any, timeout_s: float, what: str,
             cancel: threading.Event | None = None) -> T:
        """Run ``fn(*args)`` in the worker: StepTimeout past ``timeout_s``, MemoryLimit past
        the memory bound, Cancelled once ``cancel`` is set (the worker is killed in each case).

        ``cancel`` is how another thread stops a call: set before the call, nothing starts;
        set during it, the calling thread itself kills the worker within ``POLL_S``. (A kill
        from another thread could land while the work is being handed over, before the
        worker process is known, and miss it.)
        """
        with self._lock:
            until = time.monotonic() + timeout_s if timeout_s > 0 else None
            warm = self._pool is not None and self._calls > 0
            try:
                return self._attempt(fn, args, until, timeout_s, what, cancel)
            except MemoryLimit as exc:
                if not warm:
                    raise
                # Earlier files may have left their heap behind: judge the file in a fresh one.
                log.warning("%s; trying once more in a fresh worker", exc)
                return self._attempt(fn, args, until, timeout_s, what, cancel)

    def _attempt(self, fn: Callable[..., T], args: tuple[Any, ...], until: float | None,
                 timeout_s: float, what: str, cancel: threading.Event | None) -> T:
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"{what}: not started, nobody waits for it any more")
        pool = self._executor()
        future = pool.submit(fn, *args)
        self._calls += 1
        try:
            return self._wait(future, next(iter(getattr(pool, "_processes", {})), None), until,
                              what, cancel)
        except FutureTimeout:
            self.kill()
            raise StepTimeout(
                f"{what} took longer than its {timeout_s:g} s timeout; the worker "
                "process was stopped") from None
        except BrokenProcessPool:
            self.kill()
            raise TransientError(
                f"{what}: the worker process died (out of memory or crashed)") from None
        except MemoryError:
            self.kill()
            raise MemoryLimit(
                f"{what} ran out of memory under the extraction worker's limit of "
                f"{_mib(self.memory_bytes or 0)}; the worker process was stopped") from None

    def _wait(self, future: Future[T], pid: int | None, until: float | None, what: str,
              cancel: threading.Event | None) -> T:
        """The result of ``future``, watching the worker's memory and ``cancel`` while it runs
        (the first look at ``cancel`` comes right after the hand-over)."""
        watch = bool(self.memory_bytes and pid)
        poll = watch or cancel is not None
        while True:
            if cancel is not None and cancel.is_set():
                self.kill()
                raise Cancelled(f"{what}: stopped, nobody waits for it any more")
            left = None if until is None else until - time.monotonic()
            if left is not None and left <= 0:
                raise FutureTimeout
            wait = min(POLL_S, left) if poll and left is not None else (
                POLL_S if poll else left)
            try:
                return future.result(timeout=wait)
            except FutureTimeout:
                if not watch or pid is None:
                    continue
            used = tree_rss(pid)
            if self.memory_bytes and used > self.memory_bytes:
                self.kill()
                raise MemoryLimit(
                    f"{what} used {_mib(used)} of memory, over the extraction worker's limit "
                    f"of {_mib(self.memory_bytes)}; the worker process was stopped")


def _new_worker(memory_bytes: int | None) -> Worker:
    worker = Worker(memory_bytes)
    atexit.register(worker.kill)
    # A run worker is itself a multiprocessing child: at its exit multiprocessing joins its
    # children before atexit runs, so the extraction worker must be stopped first.
    multiprocessing.util.Finalize(worker, worker.kill, exitpriority=100)
    return worker


_worker = _new_worker(DEFAULT_MEMORY_BYTES)
_workers = [_worker]  # this process's extraction workers; the first one serves alone
_workers_lock = threading.Lock()


def extraction_workers(count: int) -> list[Worker]:
    """The first ``count`` extraction workers of this process (processes start on first use),
    each given an equal share of the CPUs."""
    count = max(1, count)
    with _workers_lock:
        while len(_workers) < count:
            _workers.append(_new_worker(_worker.memory_bytes))
        chosen = _workers[:count]
    share = max(1, available_cpus() // count) if count > 1 else None
    for worker in chosen:
        worker.set_cores(share)
    return chosen


def start_worker(fn: Callable[[], object], count: int = 1) -> None:
    """Start this process's first ``count`` extraction workers ahead of time, so their start
    overlaps other work."""
    for worker in extraction_workers(count):
        worker.warm_up(fn)


def set_memory_limit(memory_bytes: int | None) -> None:
    """Bound the memory of each of this process's extraction workers (None or 0: unbounded)."""
    with _workers_lock:
        chosen = list(_workers)
    for worker in chosen:
        worker.set_memory_limit(memory_bytes or None)


def run_bounded(fn: Callable[..., T], *args: Any, timeout_s: float, what: str,
                memory_bytes: int | None = None) -> T:
    """Run ``fn(*args)`` in this process's shared extraction worker, bounded in time and memory.

    ``memory_bytes`` replaces the worker's memory bound (0: none); None keeps the current one
    (DEFAULT_MEMORY_BYTES unless set before).
    """
    if memory_bytes is not None:
        set_memory_limit(memory_bytes)
    return _worker.call(fn, *args, timeout_s=timeout_s, what=what)
