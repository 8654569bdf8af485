"""One iteration of the sensor daemon's loop, run in this process and timed.

This is what ``dagster-daemon`` does every interval: evaluate the sensor in the code server
(over gRPC), then add the dynamic partitions and create and queue the requested runs. The
evaluation part is timed by wrapping the code location's ``get_sensor_execution_data``; the
rest of the iteration is the run-request time. Dagster 1.13 internals (the daemon's own test
harness): if they move, only this module needs to follow.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import dagster as dg
from dagster._core.remote_representation.code_location import GrpcServerCodeLocation
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.sensor import execute_sensor_iteration


class SensorLoop:
    """The daemon's sensor iteration over a code location module, against ``instance``."""

    def __init__(self, instance: dg.DagsterInstance, module: str) -> None:
        self.instance = instance
        self.evaluation_s = 0.0
        self._stack = ExitStack()
        self._original: Callable[..., Any] = GrpcServerCodeLocation.get_sensor_execution_data
        loop = self

        def timed(location: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return loop._original(location, *args, **kwargs)
            finally:
                loop.evaluation_s += time.perf_counter() - started

        GrpcServerCodeLocation.get_sensor_execution_data = timed  # type: ignore[method-assign, assignment]
        self._stack.callback(setattr, GrpcServerCodeLocation, "get_sensor_execution_data",
                             self._original)
        target = ModuleTarget(module_name=module, attribute=None, working_directory=None,
                              location_name="fileproc_dagster")
        self.context = self._stack.enter_context(
            create_test_daemon_workspace_context(target, instance))
        self.logger = logging.getLogger("benchmarks.sensor_loop")

    def tick(self) -> dict[str, float]:
        """One iteration: total and evaluation seconds, and how many runs it created."""
        runs_before = self.instance.get_runs_count()
        self.evaluation_s = 0.0
        started = time.perf_counter()
        list(execute_sensor_iteration(self.context, self.logger, None, None))
        total = time.perf_counter() - started
        return {"total_s": total, "evaluation_s": self.evaluation_s,
                "runs": self.instance.get_runs_count() - runs_before}

    def close(self) -> None:
        self._stack.close()
