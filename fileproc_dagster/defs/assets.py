"""Per-file assets: stored object -> record -> description -> processed (done, notified)."""

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum

import dagster as dg
from pydantic import Field

from fileproc_dagster.errors import BadInput, LostUpload
from fileproc_dagster.limits import deadline
from fileproc_dagster.pipeline import Pipeline, StoredObject
from fileproc_dagster.records import Record

from .partitions import uploads_partitions
from .policies import DESCRIBE_RETRY, FINALIZE_RETRY, RECORD_RETRY, STORE_RETRY
from .resources import (ExtractorResource, NotifierResource, ObjectStoreResource,
                        RecordsResource, UploadsResource, pipeline)

GROUP = "fileproc"
SNIPPET = 500


class StepConfig(dg.Config):
    """Per-run settings of a short step."""

    timeout_s: float = Field(default=120.0, description="Stop the step after this many seconds.")


class WhisperBackend(Enum):
    faster_whisper = "faster-whisper"
    openai_whisper = "openai-whisper"


class DescribeConfig(dg.Config):
    """Per-run settings of the extraction; empty fields fall back to the extractor resource."""

    timeout_s: float = Field(default=900.0, description="Stop the extraction after this long.")
    ocr_language: str | None = Field(
        default=None, description="Tesseract language(s), e.g. eng+deu.")
    whisper_backend: WhisperBackend | None = Field(
        default=None, description="Transcription backend.")
    whisper_model: str | None = Field(
        default=None, description="Model directory or checkpoint; empty: packaged tiny.en.")


@contextmanager
def file_step(context: dg.AssetExecutionContext, files: Pipeline, what: str,
              timeout_s: float = 0) -> Iterator[None]:
    """Run one step of one file: bad input is quarantined and not retried; a transient error
    is retried by the step's policy and, on the last attempt, fails the record."""
    key = context.partition_key
    try:
        with deadline(timeout_s, what):
            yield
    except BadInput as exc:
        moved = files.quarantine(key, exc.reason)
        raise dg.Failure(description=f"{what}: {exc.reason}", allow_retries=False, metadata={
            "reason": exc.reason, "verdict": exc.verdict,
            "quarantined": [str(p) for p in moved]}) from exc
    except LostUpload as exc:
        files.fail(key, str(exc))
        raise dg.Failure(description=f"{what}: {exc}", allow_retries=False) from exc
    except Exception as exc:
        policy = context.op_def.retry_policy
        if policy is None or context.retry_number >= policy.max_retries:
            files.fail(key, f"{what}: {exc}")
        raise


def _record_metadata(record: Record) -> dict[str, dg.MetadataValue]:
    return {
        "record_id": dg.MetadataValue.text(record.uuid),
        "state": dg.MetadataValue.text(record.state),
        "location": dg.MetadataValue.url(record.location or ""),
    }


@dg.asset(partitions_def=uploads_partitions, group_name=GROUP, retry_policy=STORE_RETRY,
          kinds={"python", "s3"})
def stored_object(context: dg.AssetExecutionContext, config: StepConfig,
                  uploads: UploadsResource, object_store: ObjectStoreResource,
                  records: RecordsResource, notifier: NotifierResource,
                  extractor: ExtractorResource) -> dg.Output[StoredObject]:
    """The uploaded file's bytes in the object store, under a content-addressed key."""
    files = pipeline(uploads, object_store, records, notifier)
    with file_step(context, files, "storing the upload", config.timeout_s):
        stored = files.store_file(context.partition_key, extractor.options())
    return dg.Output(stored, metadata={
        "type": stored.kind, "mime": stored.mime, "detected": stored.reason,
        "sha256": stored.sha256, "size": dg.MetadataValue.int(stored.size),
        "location": dg.MetadataValue.url(stored.location)})


@dg.asset(partitions_def=uploads_partitions, group_name=GROUP, retry_policy=RECORD_RETRY,
          kinds={"sql"})
def file_record(context: dg.AssetExecutionContext, config: StepConfig, stored_object: StoredObject,
                uploads: UploadsResource, object_store: ObjectStoreResource,
                records: RecordsResource, notifier: NotifierResource) -> dg.MaterializeResult:
    """The file's row in the records database, in state stored."""
    files = pipeline(uploads, object_store, records, notifier)
    with file_step(context, files, "recording the file", config.timeout_s):
        record = files.record_file(stored_object)
    return dg.MaterializeResult(metadata={**_record_metadata(record), "name": record.name,
                                          "type": record.type or ""})


@dg.asset(partitions_def=uploads_partitions, group_name=GROUP, retry_policy=DESCRIBE_RETRY,
          deps=[file_record], kinds={"python"},
          check_specs=[dg.AssetCheckSpec("has_text", asset="file_description",
                                         description="Documents and speech yield some text.")])
def file_description(context: dg.AssetExecutionContext, config: DescribeConfig,
                     uploads: UploadsResource, object_store: ObjectStoreResource,
                     records: RecordsResource, notifier: NotifierResource,
                     extractor: ExtractorResource) -> dg.MaterializeResult:
    """What the file says: OCR text, image facts or a transcript, written to its record."""
    files = pipeline(uploads, object_store, records, notifier)
    options = extractor.options(ocr_language=config.ocr_language,
                                whisper_backend=config.whisper_backend
                                and config.whisper_backend.value,
                                whisper_model=config.whisper_model)
    with file_step(context, files, "describing the file"):
        record, result = files.describe_file(context.partition_key, options, config.timeout_s)
    text = record.text or ""
    metadata: dict[str, dg.RawMetadataValue] = {
        **_record_metadata(record), "description": record.description or "",
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
    return dg.MaterializeResult(metadata=metadata, check_results=[_has_text(record)])


def _has_text(record: Record) -> dg.AssetCheckResult:
    """Empty text is suspicious for a document and worth a look for audio (maybe silence)."""
    words = len((record.text or "").split())
    passed = words > 0 or record.type == "image"
    return dg.AssetCheckResult(
        check_name="has_text", passed=passed, severity=dg.AssetCheckSeverity.WARN,
        metadata={"partition": record.key, "type": record.type or "", "words": words})


@dg.asset(partitions_def=uploads_partitions, group_name=GROUP, retry_policy=FINALIZE_RETRY,
          deps=[file_description], kinds={"python"})
def processed_file(context: dg.AssetExecutionContext, config: StepConfig,
                   uploads: UploadsResource, object_store: ObjectStoreResource,
                   records: RecordsResource, notifier: NotifierResource) -> dg.MaterializeResult:
    """The finished file: record done, upload deleted, notification sent once."""
    files = pipeline(uploads, object_store, records, notifier)
    with file_step(context, files, "finalizing the file", config.timeout_s):
        finalized = files.finalize_file(context.partition_key)
    return dg.MaterializeResult(metadata={
        **_record_metadata(finalized.record),
        "uploads_deleted": dg.MetadataValue.json(finalized.deleted),
        "notifications": dg.MetadataValue.json(finalized.notified)})
