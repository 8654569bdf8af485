"""Tell people when a run fails for good: which files it left failed, at which step, with
what error; once per run.

A failed run that Dagster's run retries will re-execute (its worker died, say) is not
reported: the retry usually heals it, and if that fails for good, its own failure is. So a
notice comes only when no retry follows: retries used up, or a failure they do not retry (a
step that failed after its own retries). Nor is a run reported whose files all ended done.
The message goes through the same notifier as "Processed ..." (outbox and Apprise targets),
entered in the notification ledger under the run's first file and ``run-failed:<run id>``, so
a sensor tick evaluated twice sends nothing twice, and a target that was down gets it from
``resend_notifications``. A quarantined file's own run is not reported again: its
"Quarantined ..." message said it.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from fileproc_dagster.errors import TransientError
from fileproc_dagster.notify import Notification
from fileproc_dagster.storage.states import State

from ._dagster_compat import retry_number, run_will_retry
from .jobs import process_file
from .partitions import UPLOADS
from .reconcile import run_partitions
from .resources import FileprocResource, RecordsResource
from .sensors import VERDICT_TAG

_ERROR_CHARS = 300
_FILES_SHOWN = 10


def failures(steps: Sequence[dg.DagsterEvent], files: Sequence[str]) -> list[tuple[str, str, str]]:
    """(file, step, error) of each failed step: per file when the step said which failed."""
    found: list[tuple[str, str, str]] = []
    for event in steps:
        data = event.step_failure_data
        user = data.user_failure_data
        error = (user.description if user and user.description else
                 data.error.message.strip() if data.error else "unknown error")
        failed = user.metadata.get("failed") if user else None
        per_file = failed.value if isinstance(failed, dg.JsonMetadataValue) else None
        if isinstance(per_file, dict) and per_file:
            found += [(key, event.step_key or "", str(why)) for key, why in per_file.items()]
        else:
            found += [(key, event.step_key or "", error) for key in files[:1] or ["?"]]
    return found


def run_error(failure: dg.DagsterEvent) -> str:
    """Why a run failed outside its steps: the executor's error (a Celery task that raised, a
    step that could not be submitted) rather than Dagster's "An exception was thrown"."""
    data = failure.event_specific_data
    error = getattr(data, "error", None)
    return (error.message.strip() if error is not None and error.message.strip() else
            failure.message or "run failed")


def _shown(items: Sequence[str]) -> str:
    more = len(items) - _FILES_SHOWN
    return ", ".join(items[:_FILES_SHOWN]) + (f" and {more} more" if more > 0 else "")


def message(run_id: str, files: Sequence[str], failed: Sequence[tuple[str, str, str]],
            left: Sequence[str] = (), retries: int = 0) -> str:
    """One readable message: the run, how many files it covered, which it left failed, and
    what failed where."""
    lines = [f"{key} at {step}: {' '.join(error.split())[:_ERROR_CHARS]}"
             for key, step, error in failed[:_FILES_SHOWN]]
    more = len(failed) - _FILES_SHOWN
    after = f" after {retries} run retr{'y' if retries == 1 else 'ies'}" if retries else ""
    return (f"Run {run_id} of {process_file.name} failed{after} ({len(files)} file(s))"
            + (f"; left failed: {_shown(left)}" if left else "") + ": "
            + "; ".join(lines) + (f"; and {more} more" if more > 0 else ""))


def left_failed(records: RecordsResource, files: Sequence[str]) -> list[str]:
    """The files of ``files`` whose record is not done, as "NAME (KEY, STATE)"."""
    store = records.store()
    left = []
    for key in files:
        record = store.files.get(key)
        if record is None:
            left.append(f"{key} (not recorded)")
        elif record.state is not State.DONE:
            left.append(f"{record.name} ({key}, {record.state.value})")
    return left


def _quarantined(records: RecordsResource, key: str) -> bool:
    record = records.store().files.get(key)
    return record is not None and record.state is State.QUARANTINED


@dg.run_failure_sensor(monitored_jobs=[process_file], minimum_interval_seconds=5,
                       default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Notifies once per run of process_file that failed with no "
                                   "run retry to follow: the files left failed, (file, step, "
                                   "error), through the same targets as the files.")
def run_failure_notifier(context: dg.RunFailureSensorContext,
                         fileproc: FileprocResource) -> None:
    run, records = context.dagster_run, fileproc.records
    if run_will_retry(context.instance, run, context.failure_event):
        context.log.info(f"run {run.run_id} failed and will be retried: nobody notified")
        return
    # Only a run over a range needs the partition keys, to know which files it covered.
    keys = [] if "dagster/partition" in run.tags else \
        context.instance.get_dynamic_partitions(UPLOADS)
    files = run_partitions(run, {key: i for i, key in enumerate(keys)}, keys)
    failed = failures(context.get_step_failure_events(), files)
    if not failed:  # the run failed outside any step (e.g. its worker died)
        failed = [(key, "run", run_error(context.failure_event)) for key in files[:1] or ["?"]]
    if run.tags.get(VERDICT_TAG) and all(_quarantined(records, key) for key, _, _ in failed):
        return  # a bad file's own run, reporting its verdict: "Quarantined ..." was sent
    left = left_failed(records, files)
    if files and not left:  # e.g. killed after its last file was done: nothing to act on
        context.log.info(f"run {run.run_id} failed with every file done: nobody notified")
        return
    text = message(run.run_id, files, failed, left, retry_number(run))
    note = Notification(failed[0][0], f"run-failed:{run.run_id}", text)
    try:
        sent = fileproc.notifier.notifier().send_once(note, records.store())
    except TransientError as exc:  # owed in the ledger; resend_notifications tries again
        context.log.warning(f"run {run.run_id}: failure notice not delivered: {exc}")
        return
    context.log.info(("notified: " if sent else "already notified: ") + text)
