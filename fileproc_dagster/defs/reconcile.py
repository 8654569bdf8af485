"""The reconciliation sensor: fail runs whose worker died unseen, re-request stalled files.

The default run launcher cannot check a run worker's health. Its code server reports a worker
that dies under it, but when both die (a daemon or host crash) the run stays STARTED, holds a
queue slot until the max-runtime limit and is never retried. Each tick looks only at the
starting and started runs of ``process_file``, reads the pid each worker logs when it starts,
and reports a run whose worker is gone as failed, so run retries re-execute it FROM_FAILURE.
Files whose runs failed for good (run retries used up) get a run of their own; every side
effect being idempotent, a repeated step does no harm. Notifications that a target did not
accept (down, refusing: the file was finished regardless) are sent again, to that target
alone, by a ``resend_notifications`` run, every ``RESEND_EVERY_S`` while any remains.

Pids are checked on this machine: the code servers that launch runs with the default launcher
must share the daemon's host and process namespace (as in the embedded default); runs whose
code server is on another host are left to run monitoring.
"""

import json
import socket
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from fileproc_dagster import recovery
from fileproc_dagster.errors import TransientError, Undelivered
from fileproc_dagster.notify import Notification

from ._dagster_compat import (
    code_server_host,
    partition_range,
    report_run_failed,
    uses_default_run_launcher,
    worker_pid,
)
from .jobs import process_file
from .partitions import uploads_partitions
from .resources import FileprocResource, RecordsResource

INTERVAL_S = 3
# The code server reports its own dead children within a second; a run still STARTED this
# long after its worker was first seen gone has nobody else to report it.
CONFIRM_S = 2.0
# A file this long untouched, whose run failed this long ago (run retries react in seconds)
# and that no live run covers, is stalled.
STALLED_AFTER_S = 60.0
# Longer than a finalize step takes through all its step and run retries.
RESEND_EVERY_S = 600
LIVE = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.CANCELING]
LOCAL_HOSTS = {None, "", "localhost", "127.0.0.1", "::1", socket.gethostname()}


def _is_local(run: dg.DagsterRun) -> bool:
    """Whether the run's worker was started on this machine (so its pid means something)."""
    return code_server_host(run) in LOCAL_HOSTS


def fail_dead_runs(context: dg.SensorEvaluationContext, suspects: dict[str, float],
                   now: float) -> dict[str, float]:
    """Report started runs whose worker is gone as failed; the runs still under suspicion."""
    instance = context.instance
    if not uses_default_run_launcher(instance) or not recovery.can_check_processes():
        return {}  # other launchers check worker health through run monitoring
    still: dict[str, float] = {}
    # A worker logs its pid before the run turns STARTED: a STARTING run may have one too.
    started = instance.get_run_records(dg.RunsFilter(job_name=process_file.name, statuses=[
        dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]))
    for run in (record.dagster_run for record in started):
        worker = worker_pid(instance, run.run_id) if _is_local(run) else None
        if worker is None or recovery.process_alive(*worker):
            continue
        first_seen = suspects.get(run.run_id, now)
        if now - first_seen < CONFIRM_S:
            still[run.run_id] = first_seen
            continue
        current = instance.get_run_by_id(run.run_id)
        if current is not None and current.status == run.status:
            message = (f"The run worker (pid {worker[0]}) is gone and nobody reported it "
                       "(killed with its code server?): marking the run failed so that run "
                       "retries re-execute it from the failure.")
            context.log.warning(f"run {run.run_id}: {message}")
            report_run_failed(instance, current, message)
    return still


def run_partitions(run: dg.DagsterRun, order: dict[str, int], keys: Sequence[str]) -> list[str]:
    """The partitions a run covers: one, or a contiguous range of them."""
    if "dagster/partition" in run.tags:
        return [run.tags["dagster/partition"]]
    first, last = partition_range(run.tags) or ("", "")
    start, end = order.get(first), order.get(last)
    return list(keys[start:end + 1]) if start is not None and end is not None else []


def _covered(runs: list[dg.RunRecord], order: dict[str, int], keys: Sequence[str]) -> set[str]:
    return {key for record in runs for key in run_partitions(record.dagster_run, order, keys)}


def stalled_requests(instance: dg.DagsterInstance, records: RecordsResource,
                     now: datetime) -> list[dg.RunRequest]:
    """A run for each unfinished file whose last run failed for good.

    Only a file that a failed run covered counts: one still waiting for its first run is the
    upload sensor's (its runs of a big burst are created over minutes). A failure is final
    when no live run covers the file and it is older than run retries take to react.
    """
    stalled = records.store().files.stalled(now - timedelta(seconds=STALLED_AFTER_S))
    if not stalled:
        return []
    # Canceled runs are left alone: someone stopped them on purpose.
    ended = instance.get_run_records(dg.RunsFilter(
        job_name=process_file.name, statuses=[dg.DagsterRunStatus.FAILURE],
        updated_after=min(updated for _, updated in stalled) - timedelta(seconds=1)))
    if not ended:
        return []  # the usual case, even in a long burst: nothing failed since
    keys = instance.get_dynamic_partitions(str(uploads_partitions.name))
    order = {key: i for i, key in enumerate(keys)}
    settled = now - timedelta(seconds=STALLED_AFTER_S)
    failed = _covered([r for r in ended if r.update_timestamp < settled], order, keys)
    busy = _covered([*instance.get_run_records(dg.RunsFilter(statuses=LIVE)),
                     *(r for r in ended if r.update_timestamp >= settled)], order, keys)
    return [dg.RunRequest(job_name=process_file.name, partition_key=key,
                          run_key=f"reconcile:{key}:{updated.isoformat()}",
                          tags={"fileproc/reconciled": "true"})
            for key, updated in stalled if key in failed and key not in busy]


@dg.op
def resend(context: dg.OpExecutionContext, fileproc: FileprocResource) -> dg.Output[int]:
    """Sends the notifications left unsent, each exactly as first written in the ledger."""
    store, sender = fileproc.records.store(), fileproc.notifier.notifier()
    unsent = store.ledger.unsent(datetime.now(UTC) - timedelta(seconds=RESEND_EVERY_S))
    failed: dict[str, list[str]] = {}
    for key, event, message in unsent:
        try:
            sender.send_once(Notification(key, event, message), store)
        except TransientError as exc:  # targets that refused, or the records database
            context.log.warning(str(exc))
            failed[f"{key}:{event}"] = exc.failures if isinstance(exc, Undelivered) \
                else [str(exc)]
    if failed:
        raise dg.Failure(description=f"{len(failed)} of {len(unsent)} notification(s) still "
                         f"not accepted; tried again in {RESEND_EVERY_S} s",
                         metadata={"unsent": failed}, allow_retries=False)
    return dg.Output(len(unsent), metadata={"sent": len(unsent)})


@dg.job(description="Send notifications that an unreachable target left unsent.",
        executor_def=dg.in_process_executor)
def resend_notifications() -> None:
    resend()


def resend_request(records: RecordsResource, now: datetime) -> list[dg.RunRequest]:
    """A resend run when notifications are left unsent, at most one per ``RESEND_EVERY_S``."""
    if not records.store().ledger.unsent(now - timedelta(seconds=RESEND_EVERY_S), limit=1):
        return []
    bucket = int(now.timestamp()) // RESEND_EVERY_S
    return [dg.RunRequest(job_name=resend_notifications.name, run_key=f"resend:{bucket}")]


@dg.sensor(jobs=[process_file, resend_notifications], minimum_interval_seconds=INTERVAL_S,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Fails runs whose worker died unseen, re-requests files that no run "
                       "will finish and resends notifications a target did not accept.")
def reconcile_sensor(context: dg.SensorEvaluationContext,
                     fileproc: FileprocResource) -> dg.SensorResult:
    """Recovers runs whose worker died unnoticed, files that no run will finish, and
    notifications that were never accepted."""
    cursor: dict[str, Any] = json.loads(context.cursor or "{}")
    suspects = fail_dead_runs(context, cursor.get("suspects", {}), time.time())
    now = datetime.now(UTC)
    requests = stalled_requests(context.instance, fileproc.records, now)
    if requests:
        context.log.warning(f"re-requesting {len(requests)} stalled file(s): "
                            + ", ".join(str(r.partition_key) for r in requests))
    requests += resend_request(fileproc.records, now)
    return dg.SensorResult(run_requests=requests,
                           cursor=json.dumps({"suspects": suspects}, sort_keys=True))
