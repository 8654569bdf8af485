"""Per-file assets: stored object -> record -> description -> processed (done, notified).

Each materialization carries only its own step's facts (every one of them is stored twice by
Dagster, once per file and asset): the object's type and location, the record's id, the text,
the upload deleted and the notification sent.

A run may cover one partition or a contiguous range of them (a batch of new uploads; a
backfill from the UI is one batch too, ``single_run_asset``): each asset handles the files of
its run one by one, so every file keeps its own metadata, retries, time limit and error (see
``files.for_each_file``).
"""

import base64
from enum import Enum
from typing import Any

import dagster as dg
from pydantic import Field

from fileproc_dagster.hooks import Hooks
from fileproc_dagster.storage.records import Record

from ._dagster_compat import single_run_asset
from .execution import EXTRACTION_POOL, EXTRACTION_TAGS
from .files import for_each_file
from .partitions import uploads_partitions
from .policies import DESCRIBE_RETRY, FINALIZE_RETRY, RECORD_RETRY, STORE_RETRY
from .resources import (ExtractorResource, NotifierResource, ObjectStoreResource,
                        RecordsResource, UploadsResource, pipeline)

GROUP = "fileproc"
SNIPPET = 500


class StepConfig(dg.Config):
    """Per-run settings of a short step."""

    timeout_s: float = Field(default=120.0, description="Stop a file's step after this long.")


class WhisperBackend(Enum):
    faster_whisper = "faster-whisper"
    openai_whisper = "openai-whisper"


class DescribeConfig(dg.Config):
    """Per-run settings of the extraction; empty fields fall back to the extractor resource."""

    timeout_s: float = Field(default=900.0, description="Stop a file's extraction after this.")
    ocr_language: str | None = Field(
        default=None, description="Tesseract language(s), e.g. eng+deu.")
    whisper_backend: WhisperBackend | None = Field(
        default=None, description="Transcription backend.")
    whisper_model: str | None = Field(
        default=None, description="Model directory or checkpoint; empty: packaged tiny.en.")


@single_run_asset(partitions_def=uploads_partitions, group_name=GROUP,
                  retry_policy=STORE_RETRY, kinds={"python", "s3"})
def stored_object(context: dg.AssetExecutionContext, config: StepConfig,
                  uploads: UploadsResource, object_store: ObjectStoreResource,
                  records: RecordsResource, notifier: NotifierResource,
                  extractor: ExtractorResource,
                  hooks: dg.ResourceParam[Hooks]) -> dg.MaterializeResult:
    """The uploaded file's bytes in the object store, under a content-addressed key."""
    files = pipeline(uploads, object_store, records, notifier, hooks)
    options = extractor.options()
    files.warm_up()

    def store(key: str) -> dict[str, Any]:
        stored = files.store_file(key, options)
        return {"type": stored.kind, "mime": stored.mime, "detected": stored.reason,
                "sha256": stored.sha256, "size": dg.MetadataValue.int(stored.size),
                "location": dg.MetadataValue.url(stored.location)}

    return for_each_file(context, files, "storing the upload", store, config.timeout_s,
                         first_step=True)


@single_run_asset(partitions_def=uploads_partitions, group_name=GROUP,
                  retry_policy=RECORD_RETRY, deps=[stored_object], kinds={"sql"})
def file_record(context: dg.AssetExecutionContext, config: StepConfig,
                uploads: UploadsResource, object_store: ObjectStoreResource,
                records: RecordsResource, notifier: NotifierResource,
                hooks: dg.ResourceParam[Hooks]) -> dg.MaterializeResult:
    """The file's row in the records database, complete and in state stored."""
    files = pipeline(uploads, object_store, records, notifier, hooks)

    def record(key: str) -> dict[str, Any]:
        done = files.record_file(key)
        return {"record_id": done.uuid, "name": done.name}

    return for_each_file(context, files, "recording the file", record, config.timeout_s)


@single_run_asset(partitions_def=uploads_partitions, group_name=GROUP,
                  retry_policy=DESCRIBE_RETRY, deps=[file_record], kinds={"python"},
                  op_tags=EXTRACTION_TAGS, pool=EXTRACTION_POOL,
                  check_specs=[dg.AssetCheckSpec(
                      "has_text", asset="file_description",
                      description="Documents and speech yield some text.")])
def file_description(context: dg.AssetExecutionContext, config: DescribeConfig,
                     uploads: UploadsResource, object_store: ObjectStoreResource,
                     records: RecordsResource, notifier: NotifierResource,
                     extractor: ExtractorResource,
                     hooks: dg.ResourceParam[Hooks]) -> dg.MaterializeResult:
    """What the file says: OCR text, image facts or a transcript, written to its record."""
    files = pipeline(uploads, object_store, records, notifier, hooks)
    options = extractor.options(ocr_language=config.ocr_language,
                                whisper_backend=config.whisper_backend
                                and config.whisper_backend.value,
                                whisper_model=config.whisper_model)
    described: list[Record] = []

    def describe(key: str) -> dict[str, Any]:
        record, result = files.describe_file(key, options, config.timeout_s,
                                             extractor.worker_memory_bytes)
        described.append(record)
        text = record.text or ""
        metadata: dict[str, Any] = {
            "description": record.description or "",
            "text": dg.MetadataValue.md(f"```\n{text[:SNIPPET]}\n```" if text else "_no text_"),
            "words": dg.MetadataValue.int(len(text.split())),
            "details": dg.MetadataValue.json(
                {k: v for k, v in (record.details or {}).items() if k != "segments"}),
            "reused": dg.MetadataValue.bool(result is None),
        }
        if result is not None and result.thumbnail:
            encoded = base64.b64encode(result.thumbnail).decode()
            metadata["thumbnail"] = dg.MetadataValue.md(
                f"![thumbnail](data:image/png;base64,{encoded})")
        return metadata

    for_each_file(context, files, "describing the file", describe)
    return dg.MaterializeResult(check_results=[_has_text(described)])


def _has_text(records: list[Record]) -> dg.AssetCheckResult:
    """Empty text is suspicious for a document and worth a look for audio (maybe silence)."""
    empty = [r.key for r in records if not (r.text or "").split() and r.type != "image"]
    return dg.AssetCheckResult(
        check_name="has_text", passed=not empty, severity=dg.AssetCheckSeverity.WARN,
        metadata={"files": len(records), "without_text": empty})


@single_run_asset(partitions_def=uploads_partitions, group_name=GROUP,
                  retry_policy=FINALIZE_RETRY, deps=[file_description], kinds={"python"})
def processed_file(context: dg.AssetExecutionContext, config: StepConfig,
                   uploads: UploadsResource, object_store: ObjectStoreResource,
                   records: RecordsResource, notifier: NotifierResource,
                   hooks: dg.ResourceParam[Hooks]) -> dg.MaterializeResult:
    """The finished file: record done, upload deleted, notification sent once."""
    files = pipeline(uploads, object_store, records, notifier, hooks)

    def finalize(key: str) -> dict[str, Any]:
        finalized = files.finalize_file(key)
        for failure in finalized.undelivered:  # the file is done; resend_notifications retries
            context.log.warning(f"{key}: notification not delivered, {failure}")
        return {"record_id": finalized.record.uuid,
                "location": dg.MetadataValue.url(finalized.record.location or ""),
                "uploads_deleted": dg.MetadataValue.json(finalized.deleted),
                "notifications": dg.MetadataValue.json(finalized.notified),
                "notifications_undelivered": dg.MetadataValue.json(finalized.undelivered)}

    return for_each_file(context, files, "finalizing the file", finalize, config.timeout_s)
