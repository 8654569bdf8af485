"""The upload sensor: a pure scan of the upload directory wrapped into a SensorResult."""

import json
from pathlib import Path

import dagster as dg

from fileproc_dagster import uploads as intake
from fileproc_dagster.errors import FileprocError

from .jobs import process_file
from .partitions import uploads_partitions
from .resources import RecordsResource, UploadsResource


def build_upload_sensor(interval_s: int) -> dg.SensorDefinition:
    """The sensor over the upload directory, running by default every ``interval_s``."""

    @dg.sensor(job=process_file, minimum_interval_seconds=interval_s,
               default_status=dg.DefaultSensorStatus.RUNNING)
    def upload_sensor(context: dg.SensorEvaluationContext, uploads: UploadsResource,
                      records: RecordsResource) -> dg.SensorResult:
        """Registers files that are fully written and requests a run for each."""
        upload_dir = Path(uploads.upload_dir)
        store = records.store()
        previous = {k: tuple(v) for k, v in json.loads(context.cursor or "{}").items()}
        scan = intake.scan(previous, intake.list_uploads(upload_dir), store.pending_upload_names())
        keys: list[str] = []
        run_requests: list[dg.RunRequest] = []
        for name in scan.ready:
            try:
                received = intake.receive(upload_dir, name, store)
            except (OSError, FileprocError) as exc:  # vanished or refused: log, keep going
                context.log.warning("skipping upload %r: %s", name, exc)
                continue
            keys.append(received.key)
            run_requests.append(dg.RunRequest(
                partition_key=received.key, run_key=f"{received.key}:{received.upload_id}",
                tags={"fileproc/duplicate": str(received.duplicate).lower()}))
        if keys:
            context.log.info("%d new upload(s): %s", len(keys), ", ".join(keys[:20]))
        return dg.SensorResult(
            run_requests=run_requests,
            dynamic_partitions_requests=[uploads_partitions.build_add_request(sorted(set(keys)))]
            if keys else [],
            cursor=json.dumps(scan.waiting, sort_keys=True),
        )

    return upload_sensor
