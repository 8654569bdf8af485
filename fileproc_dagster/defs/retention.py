"""Retiring finished files from the partitions, so a deployment pays for its active files only.

Creating a run over a range of partitions reads every key of the dynamic partitions, once per
asset, and the UI's partition pages list them all: both grow with the history. Every hour the
``retire_partitions`` job removes from the ``uploads`` partitions the files that finished
(``done`` or ``quarantined``) more than ``after_days`` ago, with nothing of them in flight
(``storage.retention`` chooses them, from the records alone), and deletes the finished runs
over them, with their events. A file goes together with every run over it: a run queued,
running or ended within the limit (a duplicate's, a backfill's), or one that also covers a
file not retirable yet, keeps all its files for a later pass. Records, stored
objects, search and notifications are not touched: ``fileproc show``, ``records`` and
``search`` find a retired file as before. A retired file that comes back (the same content
uploaded again, a quarantined file released) gets its partition again from the sensor.

Kept: a run that also covers a ``failed`` file (which may stay for long; the run's other
files are retired without it), the check evaluations of deleted runs (Dagster keeps them),
and events reported outside a run. Dagster's SQL storage cannot wipe one partition's events
(``wipe_asset_partitions``, dagster-io/dagster#15526, #14749): deleting a file's runs is the
way its events go.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.retention import DEFAULT_AFTER_DAYS, Retention, failed_keys, retirable

from ._dagster_compat import delete_dynamic_partitions, partition_range
from .jobs import process_file
from .partitions import UPLOADS
from .reconcile import LIVE, run_partitions
from .resources import FileprocResource

ENDED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
         dg.DagsterRunStatus.CANCELED]
# Keys retired per statement batch: each batch is checked against the records again first,
# so an upload registered meanwhile keeps its partition.
BATCH = 500


class RetentionResource(dg.ConfigurableResource):
    """How long a finished file stays a partition (FILEPROC_RETIRE_AFTER_DAYS)."""

    after_days: float | None = Field(default=DEFAULT_AFTER_DAYS, description=(
        "Files done or quarantined more than this many days ago leave the partitions; "
        "their records, objects and search stay. Empty (null): never."))
    max_per_pass: int = Field(default=100_000, description="Most files retired per run.")
    delete_runs: bool = Field(default=True, description=(
        "Also delete the finished runs (and their events) whose files are all retired."))


@dataclass(frozen=True)
class Retired:
    """What one pass did: partition keys removed, runs deleted, keys still live."""

    keys: list[str]
    runs: list[str]
    remaining: int


def _ours(run: dg.DagsterRun, order: dict[str, int]) -> bool:
    """A run whose partitions can be listed, among these: a ``process_file`` run, or any
    other (a materialization or backfill from the UI) whose key, or both ends of whose
    range, are partitions now."""
    if "dagster/partition" in run.tags:
        return run.job_name == process_file.name or run.tags["dagster/partition"] in order
    bounds = partition_range(run.tags)
    return bounds is not None and bounds[0] in order and bounds[1] in order


def hold_back(runs: Sequence[dg.DagsterRun], order: dict[str, int], keys: Sequence[str],
              chosen: set[str], failed: set[str]) -> set[str]:
    """The chosen keys, less those of each run that would keep a partition of its own.

    A run goes whole, with all its files, or keeps them all: once some are gone, a range's
    ends may be gone and what lies between is unknown. A failed file, which may stay for
    long, keeps only its run (the others are retired without it).
    """
    held, changed = set(chosen), True
    while changed:
        changed = False
        for run in runs:
            covered = run_partitions(run, order, keys)
            if any(k in held for k in covered) and any(
                    k in order and k not in held and k not in failed for k in covered):
                held -= set(covered)
                changed = True
    return held


def deletable_runs(runs: Iterable[dg.DagsterRun], order: dict[str, int], keys: Sequence[str],
                   retired: set[str]) -> list[str]:
    """Ended runs that cover no partition left live once ``retired`` is gone.

    A ``process_file`` run whose partition was retired before goes too; a run of another job
    only with partitions retired now, which proves they are this definition's.
    """
    found = []
    for run in runs:
        ours = run.job_name == process_file.name
        covered = run_partitions(run, order, keys)
        if covered and all(key in retired or (ours and key not in order) for key in covered):
            found.append(run.run_id)
    return found


def retire(instance: dg.DagsterInstance, records: Records, retention: Retention,
           now: datetime, limit: int, delete_runs: bool = True) -> Retired:
    """One retirement pass over the ``uploads`` partitions (see the module's docstring)."""
    keys = list(instance.get_dynamic_partitions(UPLOADS))
    before = retention.cutoff(now)
    if before is None or not keys:
        return Retired([], [], len(keys))
    order = {key: i for i, key in enumerate(keys)}
    # Runs not ended, or ended after the cutoff, keep their files: a file is retired with
    # its runs (a duplicate's, a verdict's, a backfill's), once they are old too.
    recent = [*instance.get_run_records(dg.RunsFilter(statuses=LIVE)),
              *instance.get_run_records(dg.RunsFilter(statuses=ENDED, updated_after=before))]
    busy = {key for r in recent for key in run_partitions(r.dagster_run, order, keys)}
    old = [r.dagster_run for r in instance.get_run_records(
        dg.RunsFilter(statuses=ENDED, updated_before=before)) if _ours(r.dagster_run, order)]
    free = [k for k in keys if k not in busy]
    chosen = hold_back(old, order, keys, set(retirable(records, free, before, limit)),
                       failed_keys(records, free))
    retired: list[str] = []
    for i in range(0, len(free), BATCH):
        # Checked again right before: the sensor may have registered a re-upload meanwhile.
        batch = retirable(records, [k for k in free[i:i + BATCH] if k in chosen], before)
        delete_dynamic_partitions(instance, UPLOADS, batch)
        retired += batch
    runs = deletable_runs(old, order, keys, set(retired)) if delete_runs else []
    for run_id in runs:
        instance.delete_run(run_id)
    return Retired(retired, runs, len(keys) - len(retired))


class RetireConfig(dg.Config):
    """A pass with other limits than the resource's, from the launchpad."""

    after_days: float | None = Field(default=None, description=(
        "Overrides the resource's after_days for this run (0: every finished file)."))


@dg.op
def retire_finished(context: dg.OpExecutionContext, config: RetireConfig,
                    fileproc: FileprocResource, retention: RetentionResource
                    ) -> dg.Output[int]:
    """Removes long-finished files from the partitions; their records stay searchable."""
    days = config.after_days if config.after_days is not None else retention.after_days
    done = retire(context.instance, fileproc.records.store(), Retention(days), datetime.now(UTC),
                  retention.max_per_pass, retention.delete_runs)
    context.log.info(f"retired {len(done.keys)} file(s) finished more than {days} day(s) "
                     f"ago, deleted {len(done.runs)} run(s); {done.remaining} partition(s) left")
    return dg.Output(len(done.keys), metadata={
        "retired": len(done.keys), "runs_deleted": len(done.runs),
        "partitions_left": done.remaining, "after_days": days if days is not None else "never",
        "first_retired": ", ".join(done.keys[:20]) or "none"})


@dg.job(description="Retire files finished long ago from the uploads partitions (records, "
                    "objects and search stay).", executor_def=dg.in_process_executor)
def retire_partitions() -> None:
    retire_finished()


retire_schedule = dg.ScheduleDefinition(
    name="retire_schedule", job=retire_partitions, cron_schedule="17 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour: retire files finished more than FILEPROC_RETIRE_AFTER_DAYS ago.")
