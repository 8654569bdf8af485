"""What Dagster 1.13 (written against 1.13.27) offers no public API for, in one place.

The rest of the project uses only Dagster's public API: what ``dagster`` exports and marks
``@public``. Each workaround below says why no public API does the job and where upstream
stands. ``tests/test_dagster_compat.py`` checks every one against the installed Dagster and
fails when an upgrade breaks one (or makes it unnecessary); nothing here falls back quietly.

Per-partition metadata in a multi-partition step (``add_partition_metadata``)
    The public ``context.add_asset_metadata(metadata, partition_key=key)`` checks the key with
    ``get_partition_keys_in_range``, which reads every key of a dynamic partitions definition
    from the instance, on each call: 0.28 s per file and asset at 100k partitions, 85% of a
    50-file batch's CPU. ``MaterializeResult`` carries no partition, and an
    ``AssetMaterialization`` yielded per partition would come on top of the step's own. So
    this makes the metadata accumulator update that the public call ends with, without the
    check (the keys are the run's own). Upstream: metadata per partition of a multi-partition
    run is dagster-io/dagster#18123 (open); the check came with #26562; #14965 (for #14384)
    spared single-key ranges only. No upstream issue found for the cost per call.

Runs over a range of partitions, from a sensor (``partition_range_tags``, ``partition_range``)
    A single run over a contiguous range is requested with the system tags
    ``dagster/asset_partition_range_start`` and ``_end`` (#10441), as Dagster's own
    single-run backfills, UI and CLI do. ``RunRequest`` takes one ``partition_key``; its
    ``partition_key_range`` property, which reads these tags, is not public;
    ``RunRequest.for_asset_graph_subset`` is private and launches a backfill, not a run.
    Upstream: #34096 (open) proposes ``RunRequest.for_asset_partition_range``, a backfill too.

The run worker's pid (``worker_pid``, ``report_worker_started``)
    A run worker logs "Started process for run (pid: N)", an engine event whose metadata holds
    the pid (``report_worker_started`` logs the same for a stand-in process, in tests).
    Nothing public reads a run's events: ``DagsterInstance.get_records_for_run`` is not
    public and ``EventRecordsFilter`` cannot select a run; ``EngineEventData`` is not
    exported. Upstream: #14237 (public access to a run's events, closed unmerged).

Which queue and Celery worker took each step (``step_engine_events``)
    dagster-celery logs engine events per step: 'Submitting celery task for step "S" to queue
    "Q"', then "Executing steps S in celery worker" with the worker in its metadata. Nothing
    public reads a run's events (as for ``worker_pid``).

Where a run's worker runs (``code_server_host``)
    Only the default run launcher's hidden run tag ``.dagster/grpc_info`` names the host of
    the code server that started the worker. No upstream issue found.

Failing a run whose worker is gone (``report_run_failed``, ``uses_default_run_launcher``)
    Run monitoring cannot check workers of the default run launcher, so a run whose worker
    died with its code server stays STARTED (#4319, open). Only
    ``DagsterInstance.report_run_failed``, which run monitoring itself calls, fails it so that
    run retries take it up; neither it nor ``DagsterInstance.run_launcher`` is public. No
    upstream issue found for a public API.

The beta parameter ``backfill_policy`` (``single_run_asset``)
    Not an internal: ``@dg.asset(backfill_policy=...)`` is public but beta, and warns so at
    every import. The warning is silenced around the decorator call only, not process-wide.
    No upstream issue found.
"""

import json
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
GRPC_INFO = ".dagster/grpc_info"
BACKFILL_POLICY_WARNING = "Parameter `backfill_policy`"


def add_partition_metadata(context: dg.AssetExecutionContext, partition_key: str,
                           metadata: Mapping[str, Any]) -> None:
    """Metadata for one partition of the run, shown on that partition's materialization only.

    ``partition_key`` must be one of ``context.partition_keys``: it is not checked, since the
    check is what costs.
    """
    step = context.op_execution_context._step_execution_context
    step._metadata_accumulator = step._metadata_accumulator.with_additional_asset_metadata(
        asset_key=context.asset_key, partition_key=partition_key, metadata=metadata)


def partition_range_tags(start: str, end: str) -> dict[str, str]:
    """Run tags that make one run cover the partitions from ``start`` to ``end``, both in."""
    return {RANGE_START: start, RANGE_END: end}


def partition_range(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """The first and last partition of a ranged run (or run request), from its tags."""
    if RANGE_START in tags and RANGE_END in tags:
        return tags[RANGE_START], tags[RANGE_END]
    return None


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """The run worker's pid and when it reported it, from the run's first engine events."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT,
                                           limit=10).records
    for record in records:
        event = record.event_log_entry.dagster_event
        pid = event.engine_event_data.metadata.get("pid") if event else None
        if pid is not None:
            return int(str(pid.value)), record.event_log_entry.timestamp
    return None


def report_worker_started(instance: dg.DagsterInstance, run: dg.DagsterRun, pid: int) -> None:
    """Log the event a run worker logs when it starts, as process ``pid`` (for stand-ins)."""
    from dagster._core.events import EngineEventData

    instance.report_engine_event(f"Started process for run (pid: {pid}).", run,
                                 EngineEventData.in_process(pid))


def step_engine_events(instance: dg.DagsterInstance,
                       run_id: str) -> list[tuple[str, str, dict[str, str]]]:
    """The engine events of a run's steps: (step key, message, metadata as text), in order."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT,
                                           limit=1000).records
    found = []
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is not None and event.step_key:
            metadata = {k: str(v.value) for k, v in event.engine_event_data.metadata.items()}
            found.append((event.step_key, event.message or "", metadata))
    return found


def code_server_host(run: dg.DagsterRun) -> str | None:
    """The host of the code server that started the run's worker, if the launcher said."""
    host = json.loads(run.tags.get(GRPC_INFO) or "{}").get("host")
    return str(host) if host is not None else None


def uses_default_run_launcher(instance: dg.DagsterInstance) -> bool:
    """Whether runs are started by the default launcher (run monitoring cannot check them)."""
    return isinstance(instance.run_launcher, dg.DefaultRunLauncher)


def report_run_failed(instance: dg.DagsterInstance, run: dg.DagsterRun, message: str) -> None:
    """Mark a run failed from outside it, as run monitoring does; run retries follow."""
    instance.report_run_failed(run, message)


def single_run_asset(**asset_args: Any) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """``dg.asset(**asset_args)`` whose backfills run as one batch, without the beta warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=BACKFILL_POLICY_WARNING,
                                category=dg.BetaWarning)
        decorator: Callable[[Callable[..., Any]], dg.AssetsDefinition] = dg.asset(
            backfill_policy=dg.BackfillPolicy.single_run(), **asset_args)
    return decorator
