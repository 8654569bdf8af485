"""The code location: the single entry point Dagster loads."""

from __future__ import annotations

import logging
import os
from typing import overload

import dagster as dg

from fileproc_dagster.defs.assets import (
    file_description,
    file_record,
    processed_file,
    stored_object,
)
from fileproc_dagster.defs.execution import build_executor
from fileproc_dagster.defs.failures import run_failure_notifier
from fileproc_dagster.defs.jobs import process_file
from fileproc_dagster.defs.reconcile import reconcile_sensor, resend_notifications
from fileproc_dagster.defs.release import release_quarantined
from fileproc_dagster.defs.resources import (
    BatchingResource,
    ExtractorResource,
    FileprocResource,
    LocalObjectStoreResource,
    NotifierResource,
    RecordsResource,
    S3ObjectStoreResource,
    UploadsResource,
)
from fileproc_dagster.defs.retention import RetentionResource, retire_partitions, retire_schedule
from fileproc_dagster.defs.sensors import build_upload_sensor
from fileproc_dagster.describe.version import extractor_version
from fileproc_dagster.secrets import without_userinfo
from fileproc_dagster.settings import Settings

ASSETS = [stored_object, file_record, file_description, processed_file]
log = logging.getLogger(__name__)


@overload
def from_variable(value: str, variable: str) -> str: ...


@overload
def from_variable(value: None, variable: str) -> None: ...


def from_variable(value: str | None, variable: str) -> str | None:
    """A setting that may hold a secret, as a resource field: ``dg.EnvVar(variable)`` when the
    value is that variable's (the UI then shows the variable's name, never the value), the
    value itself when the settings were built in code."""
    if value and os.environ.get(variable) == value:
        return dg.EnvVar(variable)
    if value and without_userinfo(value) != value:
        log.warning("%s holds a login and is not the value of %s: the Dagster UI shows it "
                    "as configured; set it through the variable instead",
                    without_userinfo(value), variable)
    return value


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """The resources of the resolved settings (the embedded default unless told otherwise):
    ``fileproc``, which the assets and the upload sensor take, and each system it is made of
    (the same objects), which the UI lists with its configuration."""
    systems: dict[str, dg.ConfigurableResource] = {
        "uploads": UploadsResource(upload_dir=str(settings.upload_dir),
                                   quarantine_dir=str(settings.quarantine_dir),
                                   max_upload_bytes=settings.max_upload_bytes,
                                   settle_s=settings.settle_s),
        "object_store": S3ObjectStoreResource(
            bucket=settings.s3.bucket, prefix=settings.s3.prefix,
            endpoint_url=from_variable(settings.s3.endpoint_url, "FILEPROC_S3_ENDPOINT_URL"))
        if settings.s3 else LocalObjectStoreResource(root=str(settings.store_dir)),
        "records": RecordsResource(url=from_variable(settings.db_url, "FILEPROC_DB_URL")),
        "notifier": NotifierResource(
            outbox=str(settings.outbox),
            urls=from_variable(settings.notify_urls, "FILEPROC_NOTIFY_URLS")),
        "extractor": ExtractorResource(worker_memory_bytes=settings.worker_memory_bytes,
                                       image_tags=settings.image_tags,
                                       extraction_workers=settings.extraction_workers),
        "batching": BatchingResource(max_batch=settings.max_batch,
                                     parallel_runs=settings.parallel_runs),
        "retention": RetentionResource(after_days=settings.retire_after_days),
    }
    return {**systems, "fileproc": FileprocResource(
        **{key: systems[key] for key in FileprocResource.model_fields})}


def versioned(assets: list[dg.AssetsDefinition], extractor: ExtractorResource
              ) -> list[dg.AssetsDefinition]:
    """The assets, the description carrying its extractors' version as its code version: a
    new OCR language, whisper model or extractor code marks the files described before stale."""
    version = extractor_version(extractor.options())
    return [asset.map_asset_specs(lambda spec: spec.replace_attributes(code_version=version))
            if asset.key == file_description.key else asset for asset in assets]


def build_definitions(settings: Settings) -> dg.Definitions:
    """Assets, jobs, sensors and resources for resolved settings."""
    settings.ensure_dirs()
    resources = build_resources(settings)
    extractor = resources["extractor"]
    assert isinstance(extractor, ExtractorResource)
    return dg.Definitions(
        assets=versioned(ASSETS, extractor),
        jobs=[process_file, release_quarantined, resend_notifications, retire_partitions],
        schedules=[retire_schedule],
        sensors=[build_upload_sensor(settings.sensor_interval_s), reconcile_sensor,
                 run_failure_notifier],
        resources=resources,
        executor=build_executor(settings.execution),
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location, configured from the environment at load time."""
    return build_definitions(Settings.from_env())
