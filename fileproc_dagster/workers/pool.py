"""The extractions of a run's files, spread over several bounded workers, longest first.

Each worker (``worker.Worker``: one process, its own time and memory limits) is fed by one
thread, which takes the next file the moment its worker is free; files go in order of their
expected cost, so the long ones start first and the short ones fill the gaps at the end. The
outcome of each file (its result, or the error its extraction raised) waits in a future until
the step asks for it, in the step's own order and thread. Closing early sets one event that
every job hands to its worker's calls: a call not yet handed over never starts, one under way
is stopped by its own thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

from fileproc_dagster.workers.worker import Worker, available_cpus

T = TypeVar("T")



@dataclass(frozen=True)
class Job(Generic[T]):
    """One file's extraction: ``run(worker, cancel)`` does it in the worker it is given,
    passing ``cancel`` on to ``worker.call`` (set when nobody waits for the result any more)."""

    key: str
    cost: float
    run: Callable[[Worker, threading.Event], T]


class Extractions(Generic[T]):
    """Jobs run by one thread per worker, most expensive first; a future per file key.

    ``close`` (also on leaving a ``with`` block) drops the jobs not started, cancels those
    still running (nobody waits for them any more: their calls stop and kill their worker
    process) and joins the threads; the workers stay for the next step.
    """

    def __init__(self, jobs: Iterable[Job[T]], workers: list[Worker]) -> None:
        self._queue = sorted(jobs, key=lambda job: -job.cost)
        self.order = [job.key for job in self._queue]
        self._futures: dict[str, Future[T]] = {key: Future() for key in self.order}
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._serve, args=(worker,), daemon=True,
                                          name=f"extraction-{n}")
                         for n, worker in enumerate(workers[:len(self._queue)])]
        for thread in self._threads:
            thread.start()

    def __contains__(self, key: str) -> bool:
        return key in self._futures

    def result(self, key: str) -> T:
        """The file's result once its extraction has ended; raises what the extraction raised."""
        return self._futures[key].result()

    def _serve(self, worker: Worker) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    return
                job = self._queue.pop(0)
            future = self._futures[job.key]
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(job.run(worker, self._cancel))
                except BaseException as exc:  # handed to the step, in its own thread
                    future.set_exception(exc)

    def close(self) -> None:
        with self._lock:
            dropped, self._queue = self._queue, []
        for job in dropped:
            self._futures[job.key].cancel()
        # Each running job sees this before and after handing its file to its worker (it may
        # still be fetching the bytes now) and kills its own worker process: no kill from
        # this thread can miss a hand-over that is under way.
        self._cancel.set()
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> Extractions[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def pool_size(workers: int, files: int) -> int:
    """Workers for a run of ``files`` files: ``workers`` (0: one per CPU this process may use),
    never more than the files."""
    return max(1, min(workers or available_cpus(), files))
