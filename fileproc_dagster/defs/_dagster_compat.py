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

The daemon's heartbeats and the sensors' last ticks (``daemon_heartbeats``, ``sensor_ticks``)
    ``fileproc status`` reports whether the daemon is alive and when each sensor last ticked,
    as the UI's "Daemons" and "Sensors" pages do. Both come from storage methods of
    ``DagsterInstance`` that are not public (``get_daemon_heartbeats``,
    ``get_required_daemon_types``, ``all_instigator_state``, ``get_ticks``); the only public
    alternatives are the ``dagster-daemon liveness-check`` command (a yes/no with a 30-minute
    tolerance, no times) and the GraphQL API of a running webserver. Upstream: #4480 and
    #11191 (health and metrics endpoints, open).

One check result per partition of a multi-partition step (``partition_check_spec``,
``report_partition_check``)
    Dagster 1.13 (preview, #17005) lets an ``AssetCheckSpec`` take the asset's
    ``partitions_def``; a check evaluation then names its partition. But an
    ``AssetCheckResult`` has no partition: the step gives it the run's partition key, none in a
    run over a range. So the step logs, through the public ``context.log_event``, one
    ``AssetCheckEvaluation`` per partition with its ``partition`` set (exported by ``dagster``,
    not marked public), and yields the check's output itself (``check_outputs``; its name comes
    from ``AssetsDefinition.get_output_name_for_asset_check_key``, not public). The preview
    warning of ``partitions_def`` is silenced around the spec only. Upstream: #17005
    (partitioned checks, shipped in 1.13.27 as a preview); no issue found for a partition on
    ``AssetCheckResult``.

Counting runs by status (``runs_count``)
    The metrics count runs of each status on every scrape. ``DagsterInstance.get_runs_count``
    counts in the run storage but is not public; the public ``get_run_records`` would load
    every record of a long history just to count it. No upstream issue found.
Removing many dynamic partitions at once (``delete_dynamic_partitions``)
    The public ``DagsterInstance.delete_dynamic_partition`` removes one key per statement and
    connection: 7 ms per key on SQLite (measured), so retiring the history of a deployment
    that has 100k files takes 12 minutes and of a million, two hours. On SQL event-log
    storage (SQLite, PostgreSQL, MySQL) this deletes the same rows of the same table in one
    statement per 500 keys; any other storage gets the public call per key. Upstream: no
    batch delete (dagster-io/dagster#14749 and #15526 are about wiping a partition's events,
    which SQL storage does not implement).

Whether run retries will re-execute a failed run (``run_will_retry``)
    When a run fails, the instance that stores the failure event tags the run
    ``dagster/will_retry`` (true or false), and the daemon's run retries re-execute the runs
    tagged true. The tag is written after the event and the run's status, in separate
    statements, so a run failure sensor can read the run before it is there (even before the
    status is FAILURE). Without the tag, this makes Dagster's own decision,
    ``auto_reexecution_should_retry_run`` (retries enabled, the failure reason and
    ``retry_on_asset_or_op_failure``, ``dagster/max_retries`` against the size of the run
    group), and the daemon's backfill check; neither is public, nor is
    ``DagsterInstance.run_retries_enabled``. ``RunFailureSensorContext`` says nothing of
    retries. No upstream issue found for a public way.

The beta parameter ``backfill_policy`` (``single_run_asset``)
    Not an internal: ``@dg.asset(backfill_policy=...)`` is public but beta, and warns so at
    every import. The warning is silenced around the decorator call only, not process-wide.
    No upstream issue found.
"""

import json
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
GRPC_INFO = ".dagster/grpc_info"
BACKFILL_POLICY_WARNING = "Parameter `backfill_policy`"
PARTITIONED_CHECK_WARNING = "Specifying a partitions_def on an AssetCheckSpec"
DELETE_CHUNK = 500
WILL_RETRY = "dagster/will_retry"
RETRY_NUMBER = "dagster/retry_number"
BACKFILL_ID = "dagster/backfill"
FAILURE_REASON = "dagster/failure_reason"


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


def delete_dynamic_partitions(instance: dg.DagsterInstance, name: str,
                              keys: Sequence[str]) -> None:
    """Remove ``keys`` from the dynamic partitions ``name``, in few statements; absent keys
    are ignored, as by ``DagsterInstance.delete_dynamic_partition``."""
    from dagster._core.storage.event_log.schema import DynamicPartitionsTable
    from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

    storage = instance.event_log_storage
    if not isinstance(storage, SqlEventLogStorage):
        for key in keys:
            instance.delete_dynamic_partition(name, key)
        return
    table = DynamicPartitionsTable
    for i in range(0, len(keys), DELETE_CHUNK):
        with storage.index_connection() as conn:
            conn.execute(table.delete().where(table.c.partitions_def_name == name,
                                              table.c.partition.in_(keys[i:i + DELETE_CHUNK])))


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


def runs_count(instance: dg.DagsterInstance, filters: dg.RunsFilter) -> int:
    """How many runs match ``filters``, counted by the run storage."""
    return instance.get_runs_count(filters)


def code_server_host(run: dg.DagsterRun) -> str | None:
    """The host of the code server that started the run's worker, if the launcher said."""
    host = json.loads(run.tags.get(GRPC_INFO) or "{}").get("host")
    return str(host) if host is not None else None


def uses_default_run_launcher(instance: dg.DagsterInstance) -> bool:
    """Whether runs are started by the default launcher (run monitoring cannot check them)."""
    return isinstance(instance.run_launcher, dg.DefaultRunLauncher)


def report_run_failed(instance: dg.DagsterInstance, run: dg.DagsterRun, message: str,
                      job_failure_data: Any = None) -> None:
    """Mark a run failed from outside it, as run monitoring does; run retries follow.

    ``job_failure_data`` (Dagster's ``JobFailureData``) says why, as a run worker would."""
    instance.report_run_failed(run, message, job_failure_data)


def run_will_retry(instance: dg.DagsterInstance, run: dg.DagsterRun,
                   failure: dg.DagsterEvent | None = None) -> bool:
    """Whether the daemon's run retries will re-execute ``run``, which failed with
    ``failure`` (its RUN_FAILURE event): as Dagster decides, whether or not the run carries
    the decision yet."""
    from dagster._core.events import JobFailureData, RunFailureReason
    from dagster._core.execution.backfill import BULK_ACTION_TERMINAL_STATUSES
    from dagster._core.execution.retries import auto_reexecution_should_retry_run

    tag = run.tags.get(WILL_RETRY)
    if tag is not None:
        will = tag.lower() == "true"
    elif not instance.run_retries_enabled:
        return False
    else:
        data = failure.event_specific_data if failure is not None else None
        reason = data.failure_reason if isinstance(data, JobFailureData) else None
        if reason is None and run.tags.get(FAILURE_REASON):
            reason = RunFailureReason(run.tags[FAILURE_REASON])
        # The status may not be FAILURE yet: it is stored after the event the sensor saw.
        will = auto_reexecution_should_retry_run(
            instance, run.with_status(dg.DagsterRunStatus.FAILURE), reason)
    backfill_id = run.tags.get(BACKFILL_ID)
    if will and backfill_id is not None:  # the daemon does not retry a finished backfill's runs
        backfill = instance.get_backfill(backfill_id)
        will = backfill is not None and backfill.status not in BULK_ACTION_TERMINAL_STATUSES
    return will


def retry_number(run: dg.DagsterRun) -> int:
    """How many run retries came before ``run`` (0: it is the first attempt)."""
    return int(run.tags.get(RETRY_NUMBER, "0"))


def single_run_asset(**asset_args: Any) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """``dg.asset(**asset_args)`` whose backfills run as one batch, without the beta warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=BACKFILL_POLICY_WARNING,
                                category=dg.BetaWarning)
        decorator: Callable[[Callable[..., Any]], dg.AssetsDefinition] = dg.asset(
            backfill_policy=dg.BackfillPolicy.single_run(), **asset_args)
    return decorator


@dataclass(frozen=True)
class Heartbeat:
    """A daemon's last heartbeat: when (seconds since the epoch), and the errors it reported."""

    daemon: str
    timestamp: float
    errors: tuple[str, ...]


def daemon_heartbeats(instance: dg.DagsterInstance) -> dict[str, Heartbeat]:
    """The last heartbeat of each daemon that ever beat on this instance, by daemon type."""
    return {kind: Heartbeat(kind, beat.timestamp,
                            tuple(error.message.strip() for error in beat.errors or ()))
            for kind, beat in instance.get_daemon_heartbeats().items()}


def required_daemons(instance: dg.DagsterInstance) -> list[str]:
    """The daemon types this instance's config needs running (sensors, queue, monitoring...)."""
    return list(instance.get_required_daemon_types())


@dataclass(frozen=True)
class SensorTick:
    """A sensor as the daemon knows it: whether it runs, and its last tick (None: never)."""

    name: str
    running: bool
    timestamp: float | None
    status: str | None  # success, skipped, failure, started
    error: str | None


def sensor_ticks(instance: dg.DagsterInstance) -> list[SensorTick]:
    """Every sensor the daemon has a state for, with its last tick, by name."""
    from dagster._core.definitions.run_request import InstigatorType

    found = []
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
        tick = ticks[0] if ticks else None
        found.append(SensorTick(
            state.instigator_name, state.is_running,
            tick.timestamp if tick else None,
            tick.status.value.lower() if tick else None,
            tick.error.message.strip() if tick and tick.error else None))
    return sorted(found, key=lambda sensor: sensor.name)


def partition_check_spec(name: str, asset: str, description: str,
                         partitions_def: dg.PartitionsDefinition) -> dg.AssetCheckSpec:
    """A check with one result per partition of ``asset``, without the preview warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=PARTITIONED_CHECK_WARNING,
                                category=dg.PreviewWarning)
        return dg.AssetCheckSpec(name, asset=asset, description=description,
                                 partitions_def=partitions_def)


def report_partition_check(context: dg.AssetExecutionContext, spec: dg.AssetCheckSpec,
                           partition_key: str, passed: bool, description: str,
                           metadata: Mapping[str, Any] | None = None,
                           severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.WARN) -> None:
    """The result of ``spec`` for one partition of the run, shown on that partition."""
    context.log_event(dg.AssetCheckEvaluation(
        asset_key=spec.asset_key, check_name=spec.name, passed=passed, metadata=metadata,
        severity=severity, description=description, partition=partition_key))


def check_outputs(context: dg.AssetExecutionContext,
                  specs: list[dg.AssetCheckSpec]) -> list[dg.Output[None]]:
    """The outputs a step owes for its selected checks, whose results it logged itself."""
    selected = context.selected_asset_check_keys
    return [dg.Output(None, output_name=context.assets_def.get_output_name_for_asset_check_key(
        spec.key)) for spec in specs if spec.key in selected]


def is_check_selected(context: dg.AssetExecutionContext, spec: dg.AssetCheckSpec) -> bool:
    """Whether the run evaluates ``spec`` (a run may select an asset without its checks)."""
    return spec.key in context.selected_asset_check_keys
