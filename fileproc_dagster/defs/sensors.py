"""The upload sensor: a pure scan of the upload directory wrapped into a SensorResult.

New uploads are registered in the records database, their partitions added in arrival order,
and the run requests cover contiguous ranges of them (batches), so one run processes many
files. The cursor keeps the files still settling (see ``intake.scan``) and the id of the last
upload a run was requested for: uploads registered by a tick that died before its runs were
launched are requested again by the next tick, under the same run keys.
"""

import json
import math
import time
from pathlib import Path

import dagster as dg

from fileproc_dagster.errors import FileprocError
from fileproc_dagster.hooks import Point
from fileproc_dagster.intake import scan as intake
from fileproc_dagster.intake.admit import admit
from fileproc_dagster.storage.records import Record, Records, Upload

from ._dagster_compat import partition_range_tags
from .jobs import process_file
from .metadata import files_tag
from .partitions import UPLOADS, uploads_partitions
from .resources import FileprocResource, UploadsResource

# Longest wait within a tick for a file about to settle (sensor ticks may take 60 s).
MAX_SETTLE_WAIT_S = 3.0
# A single-partition run that reports on its partition a file failed inside a batch.
VERDICT_TAG = "fileproc/verdict"


def batches(new: list[Upload], max_batch: int, parallel_runs: int) -> list[list[Upload]]:
    """Split new uploads into at most ``parallel_runs`` batches (more if over ``max_batch``)."""
    if not new:
        return []
    size = min(max_batch, math.ceil(len(new) / parallel_runs))
    return [new[i:i + size] for i in range(0, len(new), size)]


def run_requests(pending: list[Upload], verdicts: list[tuple[str, str]], max_batch: int,
                 parallel_runs: int, existing: set[str]) -> tuple[list[str], list[dg.RunRequest]]:
    """Partitions to add and runs to request for uploads not yet requested.

    Uploads of new content are batched over ranges of new partitions; an upload whose
    partition exists already (a duplicate, a released file) gets a run of its own, since a
    range reaching back to it would sweep in every partition in between. A duplicate of a
    retired file gets its partition back, and a run of its own.
    """
    first_uploads = [u for u in pending if not u.duplicate and u.key not in existing]
    requests = []
    for batch in batches(first_uploads, max_batch, parallel_runs):
        start, end = batch[0], batch[-1]
        requests.append(dg.RunRequest(
            run_key=f"uploads:{start.id}-{end.id}",
            tags={**partition_range_tags(start.key, end.key),
                  "fileproc/files": str(len(batch)),
                  "fileproc/names": files_tag([u.name for u in batch])}))
    # A duplicate maps to a partition that exists already, maybe far from the new ones.
    requests += [dg.RunRequest(partition_key=u.key, run_key=f"upload:{u.id}",
                               tags={"fileproc/duplicate": str(u.duplicate).lower(),
                                     "fileproc/names": files_tag([u.name])})
                 for u in pending if u.duplicate or u.key in existing]
    requests += [dg.RunRequest(partition_key=key, run_key=f"verdict:{key}:{stamp}",
                               tags={VERDICT_TAG: "true"}) for key, stamp in verdicts]
    # The new partitions first, contiguous as the ranges need them; then those of retired
    # files come back (a duplicate, a release), whose partitions the retention job removed.
    keys = [u.key for u in first_uploads] + [u.key for u in pending if u.key not in existing]
    return list(dict.fromkeys(keys)), requests


def _receive_ready(context: dg.SensorEvaluationContext, uploads: UploadsResource,
                   store: Records, ready: list[str]) -> list[str]:
    """Register ready entries; those refused at the door are quarantined unread.

    Returns the partition keys of the refused ones, so each gets a partition and a run
    that shows its failure in the UI.
    """
    refused = []
    for name in ready:
        try:
            admitted = admit(Path(uploads.upload_dir), Path(uploads.quarantine_dir),
                             name, store, max_bytes=uploads.max_upload_bytes)
        except (OSError, FileprocError) as exc:  # e.g. unreadable: log, keep going
            context.log.warning(f"skipping upload {name!r}: {exc}")
            continue
        if isinstance(admitted, Record):
            context.log.warning(f"refused upload {name!r}: {admitted.error}")
            refused.append(admitted.key)
    store.files.flag_verdicts(refused)
    return refused


def build_upload_sensor(interval_s: int) -> dg.SensorDefinition:
    """The sensor over the upload directory, running by default every ``interval_s``."""

    @dg.sensor(job=process_file, minimum_interval_seconds=interval_s,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Registers files in the upload directory once fully written, adds "
                           "a partition per file and requests batched process_file runs.")
    def upload_sensor(context: dg.SensorEvaluationContext,
                      fileproc: FileprocResource) -> dg.SensorResult:
        """Registers files that are fully written and requests batched runs for them."""
        uploads, batching = fileproc.uploads, fileproc.batching
        upload_dir = Path(uploads.upload_dir)
        store = fileproc.records.store()
        cursor = json.loads(context.cursor or "{}")
        previous = {k: tuple(v) for k, v in cursor.get("waiting", {}).items()}
        registered, settle_ns = store.uploads.pending_names(), int(uploads.settle_s * 1e9)
        now = time.time_ns()
        scan = intake.scan(previous, intake.list_entries(upload_dir), registered, now, settle_ns)
        # The daemon evaluates sensors every 5 s at best: rather than leave a file that is
        # about to settle for the next tick, wait for it once, briefly.
        delay = intake.settles_in(scan.waiting, now, settle_ns)
        if delay is not None and delay <= MAX_SETTLE_WAIT_S:
            time.sleep(delay + 0.05)
            scan = intake.scan(previous, intake.list_entries(upload_dir), registered,
                               time.time_ns(), settle_ns)
        refused = _receive_ready(context, uploads, store, scan.ready)
        fileproc.hooks().at(Point.AFTER_REGISTER, *scan.ready)
        pending = store.uploads.unrequested(cursor.get("through", 0))
        # Creating a run costs the daemon seconds: a burst is requested a queue's worth per
        # tick (the rest on the next ticks, "through" marking where), keeping ticks short.
        pending = pending[:batching.max_batch * batching.parallel_runs]
        verdicts = [(r.key, str(r.updated_at)) for r in store.files.take_verdicts()]
        existing = {u.key for u in pending
                    if context.instance.has_dynamic_partition(UPLOADS, u.key)}
        keys, requests = run_requests(pending, verdicts, batching.max_batch,
                                      batching.parallel_runs, existing)
        keys += [k for k in refused if k not in keys]
        if requests:
            context.log.info(f"{len(pending)} new upload(s) in {len(requests)} run(s): "
                             + files_tag([u.name for u in pending], limit=1000))
        through = max([u.id for u in pending], default=cursor.get("through", 0))
        return dg.SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=[uploads_partitions.build_add_request(keys)]
            if keys else [],
            cursor=json.dumps({"waiting": scan.waiting, "through": through}, sort_keys=True),
        )

    return upload_sensor
