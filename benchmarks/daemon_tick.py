"""One iteration of the sensor daemon's loop, run in this process and timed.

This is what ``dagster-daemon`` does every interval: evaluate the sensor in the code server
(over gRPC), then add the dynamic partitions and create and queue the requested runs. The
evaluation part is timed by wrapping the code location's sensor evaluation call; the rest of
the iteration is the run-request time. The daemon's loop is no public API: the Dagster
internals it takes are in ``benchmarks._dagster_internals``.
"""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack

import dagster as dg

from benchmarks._dagster_internals import (
    daemon_workspace,
    sensor_iteration,
    timed_sensor_evaluations,
)


class SensorLoop:
    """The daemon's sensor iteration over a code location module, against ``instance``."""

    def __init__(self, instance: dg.DagsterInstance, module: str) -> None:
        self.instance = instance
        self.evaluation_s = 0.0
        self._stack = ExitStack()
        self._stack.enter_context(timed_sensor_evaluations(self._evaluated))
        self.context = self._stack.enter_context(
            daemon_workspace(instance, module, location_name="fileproc_dagster"))
        self.logger = logging.getLogger("benchmarks.sensor_loop")

    def _evaluated(self, seconds: float) -> None:
        self.evaluation_s += seconds

    def tick(self) -> dict[str, float]:
        """One iteration: total and evaluation seconds, and how many runs it created."""
        runs_before = self.instance.get_runs_count()
        self.evaluation_s = 0.0
        started = time.perf_counter()
        sensor_iteration(self.context, self.logger)
        total = time.perf_counter() - started
        return {"total_s": total, "evaluation_s": self.evaluation_s,
                "runs": self.instance.get_runs_count() - runs_before}

    def close(self) -> None:
        self._stack.close()
