"""The Dagster 1.13 internals the scale benchmark needs, where no public API does the job.

Seeding history (``store_materializations``)
    100k materializations have to be written in minutes. The public way,
    ``DagsterInstance.report_runless_asset_event``, writes one event per transaction; written
    in batches the way PostgreSQL's batched write does it (SQLite: one transaction per
    shard), seeding is ~100x faster. That takes the runless run's id, the materialization
    event's data class and the event log storage's batch-insert helpers, none public.

One iteration of the daemon's sensor loop (``daemon_workspace``, ``sensor_iteration``,
``timed_sensor_evaluations``)
    ``dagster-daemon run`` is the only public way to run it, and it can neither be timed per
    iteration nor split into the sensor's evaluation and the run creation that follows. This
    uses the daemon's own test harness and wraps the code location's sensor evaluation call.

A batched SQLite event log (``batched_sqlite_event_writes``), for ``benchmarks.event_cost``
    Dagster's SQLite event log has no ``store_event_batch`` of its own: the base class writes
    a batch event by event, each in its own connection (run shard, then the index). This
    prototype writes a batch in one run-shard transaction and one index transaction, to
    measure what such a storage would save; the product does not use it.

What making a run costs, for ``benchmarks.run_creation`` (``instance_call_stats``,
``one_key_listing_per_run``)
    The daemon makes a run with ``DagsterInstance.create_run`` (not public), which logs its
    planned events with ``report_dagster_event`` (not public) and resolves a ranged run's
    partitions with the public ``get_dynamic_partitions``, once per asset and per check. The
    first counts and times these calls in this process; the second is a prototype that reads
    a definition's keys once per run created (what a custom instance class, configured in
    ``dagster.yaml``, would have to do in the daemon), to measure what it would save.

Nothing else in the benchmarks touches Dagster internals; ``tests/test_dagster_compat.py``
imports the benchmarks that use this module, so an upgrade that moves one of them fails
there rather than in the middle of a benchmark run.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg
from dagster._core.events import StepMaterializationData
from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID
from dagster._core.remote_representation.code_location import GrpcServerCodeLocation
from dagster._core.storage.event_log.base import EventLogStorage
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.sensor import execute_sensor_iteration


def _materialization(asset_key: dg.AssetKey, partition_key: str, run_id: str,
                     job_name: str) -> dg.EventLogEntry:
    event = dg.DagsterEvent(
        event_type_value=dg.DagsterEventType.ASSET_MATERIALIZATION.value,
        job_name=job_name, event_specific_data=StepMaterializationData(
            dg.AssetMaterialization(asset_key=asset_key, partition=partition_key)))
    return dg.EventLogEntry(  # type: ignore[no-untyped-call]
        error_info=None, level="debug", user_message="", run_id=run_id,
        timestamp=time.time(), dagster_event=event)


def store_materializations(instance: dg.DagsterInstance, asset_key: dg.AssetKey,
                           partition_keys: Sequence[str], run_id: str = RUNLESS_RUN_ID,
                           job_name: str = RUNLESS_JOB_NAME) -> None:
    """One materialization of ``asset_key`` per partition key, written as one batch, by the
    run ``run_id`` (by default none: a runless event)."""
    events = [_materialization(asset_key, key, run_id, job_name) for key in partition_keys]
    storage = instance.event_log_storage
    if type(storage).store_event_batch is not EventLogStorage.store_event_batch:
        storage.store_event_batch(events)  # PostgreSQL: its own batch write
        return
    # SQLite: the run shard and the cross-run index shard, one transaction each.
    with storage.run_connection(run_id) as conn:  # type: ignore[attr-defined]
        conn.execute(storage.prepare_insert_event_batch(events))  # type: ignore[attr-defined]
    with storage.index_transaction() as conn:  # type: ignore[attr-defined]
        ids = list(conn.execute(storage.prepare_insert_event_batch(events)  # type: ignore
                                .returning(SqlEventLogStorageTable.c.id)).scalars())
        storage._store_asset_event_tags(conn, events, ids)  # type: ignore[attr-defined]
        storage._store_asset_event(conn, events[-1], max(ids))  # type: ignore[attr-defined]


@contextmanager
def daemon_workspace(instance: dg.DagsterInstance, module: str,
                     location_name: str) -> Iterator[Any]:
    """The daemon's workspace over a code location module (its code server started)."""
    target = ModuleTarget(module_name=module, attribute=None, working_directory=None,
                          location_name=location_name)
    with create_test_daemon_workspace_context(target, instance) as workspace:
        yield workspace


def sensor_iteration(workspace: Any, logger: logging.Logger) -> None:
    """What the sensor daemon does every interval: evaluate the sensors, act on the results."""
    list(execute_sensor_iteration(workspace, logger, None, None))


@contextmanager
def timed_sensor_evaluations(add: Callable[[float], None]) -> Iterator[None]:
    """Report the seconds of each sensor evaluation in a code server (over gRPC) to ``add``."""
    original: Callable[..., Any] = GrpcServerCodeLocation.get_sensor_execution_data

    def timed(location: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(location, *args, **kwargs)
        finally:
            add(time.perf_counter() - started)

    GrpcServerCodeLocation.get_sensor_execution_data = timed  # type: ignore[method-assign, assignment]
    try:
        yield
    finally:
        GrpcServerCodeLocation.get_sensor_execution_data = original  # type: ignore[method-assign]


@contextmanager
def batched_sqlite_event_writes() -> Iterator[None]:
    """Within: ``SqliteEventLogStorage.store_event_batch`` writes a batch (the planned events
    of a run, the materializations of a step: ``DAGSTER_EVENT_BATCH_SIZE``) in one run-shard
    and one index transaction, as ``store_event`` would event by event (this process only)."""
    from dagster._core.events import ASSET_EVENTS
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    single = SqliteEventLogStorage.store_event

    def check_not_none(value: Any) -> Any:
        assert value is not None, "SQLite gave no id for an inserted event"
        return value

    def store_event_batch(self: SqliteEventLogStorage, events: Sequence[dg.EventLogEntry]
                          ) -> None:
        runs = {event.run_id for event in events}
        if len(runs) != 1 or not all(e.is_dagster_event and e.dagster_event_type in ASSET_EVENTS
                                     for e in events):
            for event in events:
                single(self, event)
            return
        statements = [self.prepare_insert_event(event) for event in events]
        with self.run_connection(runs.pop()) as conn:
            for statement in statements:
                conn.execute(statement)
        with self.index_transaction() as conn:
            ids = [int(check_not_none(conn.execute(statement).inserted_primary_key)[0])
                   for statement in statements]
            self._store_asset_event_tags(conn, list(events), ids)
            for event, event_id in zip(events, ids, strict=True):
                self._store_asset_event(conn, event, event_id)

    original = SqliteEventLogStorage.store_event_batch
    SqliteEventLogStorage.store_event_batch = store_event_batch  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        SqliteEventLogStorage.store_event_batch = original  # type: ignore[method-assign]


RUN_CREATION_CALLS = ("create_run", "get_dynamic_partitions", "has_dynamic_partition",
                      "report_dagster_event", "submit_run")


@contextmanager
def instance_call_stats(calls: Counter[str], seconds: dict[str, float]) -> Iterator[None]:
    """Within: count and time every ``DagsterInstance`` call of ``RUN_CREATION_CALLS`` made in
    this process (the daemon's side of making a run), into ``calls`` and ``seconds``."""
    originals = {name: getattr(dg.DagsterInstance, name) for name in RUN_CREATION_CALLS}

    def counted(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: dg.DagsterInstance, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                calls[name] += 1
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started
        return call

    for name, method in originals.items():
        setattr(dg.DagsterInstance, name, counted(name, method))
    try:
        yield
    finally:
        for name, method in originals.items():
            setattr(dg.DagsterInstance, name, method)


_LISTINGS: contextvars.ContextVar[dict[str, Sequence[str]] | None] = contextvars.ContextVar(
    "run_creation_listings", default=None)


@contextmanager
def one_key_listing_per_run() -> Iterator[None]:
    """Within: each run created in this process (``RunDomain.create_run``, which the
    instance's ``create_run`` and ``create_run_for_job`` end in) reads the keys of a dynamic
    partitions definition once and reuses them for every asset and check of the run."""
    from dagster._core.instance.runs.run_domain import RunDomain

    create_run = RunDomain.create_run
    get_dynamic_partitions = dg.DagsterInstance.get_dynamic_partitions

    def create_run_listing_once(self: RunDomain, **kwargs: Any) -> dg.DagsterRun:
        token = _LISTINGS.set({})
        try:
            return create_run(self, **kwargs)
        finally:
            _LISTINGS.reset(token)

    def listed_once(self: dg.DagsterInstance, partitions_def_name: str) -> Sequence[str]:
        listings = _LISTINGS.get()
        if listings is None:
            return get_dynamic_partitions(self, partitions_def_name)
        if partitions_def_name not in listings:
            listings[partitions_def_name] = get_dynamic_partitions(self, partitions_def_name)
        return listings[partitions_def_name]

    RunDomain.create_run = create_run_listing_once  # type: ignore[method-assign]
    dg.DagsterInstance.get_dynamic_partitions = listed_once  # type: ignore[method-assign]
    try:
        yield
    finally:
        RunDomain.create_run = create_run  # type: ignore[method-assign]
        dg.DagsterInstance.get_dynamic_partitions = get_dynamic_partitions  # type: ignore[method-assign]
