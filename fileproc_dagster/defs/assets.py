"""Per-file assets: stored object -> record -> description -> processed (done, notified).

Each materialization carries only its own step's facts (every one of them is stored twice by
Dagster, once per file and asset): the object's type and location, the record's id, the text,
the upload deleted and the notification sent.

A run may cover one partition or a contiguous range of them (a batch of new uploads; a
backfill from the UI is one batch too, ``single_run_asset``): each asset handles the files of
its run one by one, so every file keeps its own metadata, retries, time limit and error (see
``files.for_each_file``). The description step starts the extractions of its files ahead, on
a worker process per CPU, and takes each file's outcome in its turn.
"""

from collections.abc import Iterator
from enum import Enum
from typing import Any

import dagster as dg
from pydantic import Field

from fileproc_dagster.describe.version import extractor_version
from fileproc_dagster.workers.pool import pool_size

from . import metadata as shown
from ._dagster_compat import check_outputs, single_run_asset
from .checks import HAS_TEXT, OBJECT_MATCHES_RECORD, check_has_text, check_object
from .execution import EXTRACTION_POOL, EXTRACTION_TAGS
from .files import for_each_file
from .partitions import uploads_partitions
from .policies import DESCRIBE_RETRY, FINALIZE_RETRY, RECORD_RETRY, STORE_RETRY
from .resources import FileprocResource

GROUP = "fileproc"
OWNERS = ["team:fileproc"]


def _tags(step: str) -> dict[str, str]:
    return {"pipeline": "fileproc", "step": step}


class StepConfig(dg.Config):
    """Per-run settings of a short step."""

    timeout_s: float = Field(default=120.0, description="Stop a file's step after this long.")


# Spelled as the extractor resource and the packages spell them (names with a hyphen).
WhisperBackend = Enum("WhisperBackend", {"faster-whisper": "faster-whisper",
                                         "openai-whisper": "openai-whisper"})


class DescribeConfig(dg.Config):
    """Per-run settings of the extraction; empty fields fall back to the extractor resource."""

    timeout_s: float = Field(default=900.0, description="Stop a file's extraction after this.")
    ocr_language: str | None = Field(
        default=None,
        description="Tesseract language(s), e.g. deu or eng+fra; auto: detected per page.")
    whisper_backend: WhisperBackend | None = Field(
        default=None, description="Transcription backend: faster-whisper or openai-whisper.")
    whisper_model: str | None = Field(
        default=None, description="Model directory or checkpoint; empty: packaged tiny.en.")
    image_tags: bool | None = Field(
        default=None, description="Tag what photos show and count faces; empty: "
                                  "FILEPROC_IMAGE_TAGS.")
    extraction_workers: int | None = Field(
        default=None, description="Files of this run extracted at once, each in its own "
                                  "worker process; empty: FILEPROC_EXTRACTION_WORKERS.")


@single_run_asset(partitions_def=uploads_partitions, group_name=GROUP,
                  retry_policy=STORE_RETRY, kinds={"python", "s3"}, owners=OWNERS,
                  tags=_tags("store"))
def stored_object(context: dg.AssetExecutionContext, config: StepConfig,
                  fileproc: FileprocResource) -> dg.MaterializeResult:
    """The uploaded file's bytes in the object store, under a content-addressed key (while
    the extraction workers start, for the description step to come)."""
    files, endpoint = fileproc.pipeline(), getattr(fileproc.object_store, "endpoint_url", None)
    files.warm_up(pool_size(fileproc.extractor.extraction_workers, len(context.partition_keys)))

    def store(key: str) -> dict[str, Any]:
        stored = files.store_file(key)
        return {"sha256": stored.sha256, "size": dg.MetadataValue.int(stored.size),
                **shown.location(stored.location, endpoint),
                "stored": stored.reason}

    return for_each_file(context, files, "storing the upload", store, config.timeout_s,
                         first_step=True)


@single_run_asset(partitions_def=uploads_partitions, group_name=GROUP,
                  retry_policy=RECORD_RETRY, deps=[stored_object], kinds={"sql"},
                  owners=OWNERS, tags=_tags("record"), check_specs=[OBJECT_MATCHES_RECORD])
def file_record(context: dg.AssetExecutionContext, config: StepConfig,
                fileproc: FileprocResource) -> Iterator[dg.Output[None] | dg.MaterializeResult]:
    """The file's row in the records database: its type detected from the stored content,
    inserted in state stored."""
    files, endpoint = fileproc.pipeline(), getattr(fileproc.object_store, "endpoint_url", None)
    options = fileproc.extractor.options()

    def record(key: str) -> dict[str, Any]:
        done, detection = files.record_file(key, options)
        check_object(context, files.objects, done)
        return {"record_id": done.uuid, "name": done.name, "type": done.type or "",
                "mime": done.mime or "",
                "detected": detection.reason if detection else "recorded earlier",
                **shown.location(done.location or "", endpoint)}

    yield for_each_file(context, files, "recording the file", record, config.timeout_s)
    yield from check_outputs(context, [OBJECT_MATCHES_RECORD])


@single_run_asset(partitions_def=uploads_partitions, group_name=GROUP,
                  retry_policy=DESCRIBE_RETRY, deps=[file_record], kinds={"python"},
                  owners=OWNERS, tags=_tags("describe"), check_specs=[HAS_TEXT],
                  op_tags=EXTRACTION_TAGS, pool=EXTRACTION_POOL)
def file_description(context: dg.AssetExecutionContext, config: DescribeConfig,
                     fileproc: FileprocResource
                     ) -> Iterator[dg.Output[None] | dg.MaterializeResult]:
    """What the file says: OCR text, image facts or a transcript, written to its record."""
    files, extractor = fileproc.pipeline(), fileproc.extractor
    options = extractor.options(ocr_language=config.ocr_language,
                                whisper_backend=config.whisper_backend
                                and config.whisper_backend.value,
                                whisper_model=config.whisper_model,
                                image_tags=config.image_tags)
    version = extractor_version(options)
    workers = (extractor.extraction_workers if config.extraction_workers is None
               else config.extraction_workers)
    # The run's extractions start at once, spread over the workers; each file's outcome is
    # taken (and its errors met) in its turn below.
    with files.describe_ahead(context.partition_keys, options, config.timeout_s, workers,
                              extractor.worker_memory_bytes, version) as ahead:

        def describe(key: str) -> dict[str, Any]:
            record, result = files.describe_file(key, options, config.timeout_s,
                                                 extractor.worker_memory_bytes, version, ahead)
            check_has_text(context, record)
            return shown.description(record, reused=result is None)

        described = for_each_file(context, files, "describing the file", describe)
    yield described
    yield from check_outputs(context, [HAS_TEXT])


@single_run_asset(partitions_def=uploads_partitions, group_name=GROUP,
                  retry_policy=FINALIZE_RETRY, deps=[file_description], kinds={"python"},
                  owners=OWNERS, tags=_tags("finalize"))
def processed_file(context: dg.AssetExecutionContext, config: StepConfig,
                   fileproc: FileprocResource) -> dg.MaterializeResult:
    """The finished file: record done, upload deleted, notification sent once."""
    files = fileproc.pipeline(with_store=False)

    def finalize(key: str) -> dict[str, Any]:
        finalized = files.finalize_file(key)
        for failure in finalized.undelivered:  # the file is done; resend_notifications retries
            context.log.warning(f"{key}: notification not delivered, {failure}")
        return {"preview": shown.preview(finalized.record),
                "record_id": finalized.record.uuid, **shown.family(finalized.record),
                "uploads_deleted": dg.MetadataValue.json(finalized.deleted),
                "notifications": dg.MetadataValue.json(finalized.notified),
                "notifications_undelivered": dg.MetadataValue.json(finalized.undelivered)}

    return for_each_file(context, files, "finalizing the file", finalize, config.timeout_s)
