"""One resource per external system, each returning the domain object that talks to it."""

from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from fileproc_dagster.describe.model import ExtractOptions
from fileproc_dagster.hooks import NO_HOOKS, Hooks
from fileproc_dagster.notify import Notifier
from fileproc_dagster.pipeline import Pipeline
from fileproc_dagster.settings import DEFAULT_MAX_UPLOAD_BYTES
from fileproc_dagster.storage.objects import DEFAULT_PART_SIZE, LocalObjectStore, ObjectStore
from fileproc_dagster.storage.records import Records
from fileproc_dagster.workers.worker import DEFAULT_MEMORY_BYTES


@cache
def _record_store(url: str) -> Records:
    # One engine (and connection pool) per process and database.
    return Records(url)


class UploadsResource(dg.ConfigurableResource):
    """The watched upload directory and the quarantine directory for bad files."""

    upload_dir: str
    quarantine_dir: str
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    settle_s: float = Field(default=2.0, description=(
        "A file untouched this long (by its modification and change times) is complete; "
        "otherwise it must look the same on two sensor ticks."))


class BatchingResource(dg.ConfigurableResource):
    """How the sensor groups new uploads into runs."""

    max_batch: int = 50
    parallel_runs: int = 2


class ObjectStoreResource(dg.ConfigurableResource):
    """Where stored objects live; local directory or S3, with the same methods."""

    def store(self) -> ObjectStore:
        raise NotImplementedError


class LocalObjectStoreResource(ObjectStoreResource):
    """The embedded default object store: a local directory."""

    root: str

    def store(self) -> ObjectStore:
        return LocalObjectStore(Path(self.root))


class RecordsResource(dg.ConfigurableResource):
    """The records database (SQLite file or PostgreSQL URL; it may hold a password, so it is
    given as EnvVar FILEPROC_DB_URL)."""

    url: str

    def store(self) -> Records:
        return _record_store(self.url)


class NotifierResource(dg.ConfigurableResource):
    """The JSON-lines outbox plus optional Apprise target URLs (secrets: set via EnvVar)."""

    outbox: str
    urls: str = ""

    def notifier(self) -> Notifier:
        return Notifier(Path(self.outbox), self.urls.split())


class ExtractorResource(dg.ConfigurableResource):
    """Defaults of the extractors; a run's config can override each of them."""

    ocr_language: str = "auto"
    ocr_timeout_s: float = 120.0
    whisper_backend: str = "faster-whisper"
    whisper_model: str = ""
    max_pages: int = 200
    max_image_pixels: int = 100_000_000
    worker_memory_bytes: int = DEFAULT_MEMORY_BYTES
    image_tags: bool = True
    max_video_transcribe_s: float = Field(default=1800.0, description=(
        "Seconds of a video's audio track transcribed; the rest is left out (said so)."))
    max_keyframes: int = Field(default=4, description=(
        "Keyframes of a video decoded, tagged and shown as its preview."))
    archive_max_bytes: int = Field(default=1 << 30, description=(
        "Bytes an archive or a mail may unpack to in all; more: quarantined as a bomb."))
    archive_max_ratio: float = Field(default=100.0, description=(
        "Times its own size an archive may unpack to (over 10 MiB); more: a bomb."))
    archive_max_members: int = Field(default=1000, description=(
        "Members an archive (attachments a mail) may hold; more: quarantined."))
    archive_max_depth: int = Field(default=3, description=(
        "How deep archives in archives are opened (the upload is 1); deeper: quarantined."))
    extraction_workers: int = Field(default=0, description=(
        "Extraction worker processes of a run's description step, each within "
        "worker_memory_bytes; 0: one per CPU the run may use (never more than its files)."))

    def options(self, **overrides: object) -> ExtractOptions:
        values = {k: getattr(self, k) for k in ExtractOptions.__dataclass_fields__}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return ExtractOptions(**values)


@cache
def _s3_client(endpoint_url: str | None, region_name: str | None, max_attempts: int) -> Any:
    # One client (thread-safe, with its connection pool) per process and endpoint. Imported
    # here: boto3 and dagster-aws take a quarter second that a local store never needs.
    from dagster_aws.s3 import S3Resource

    return S3Resource(endpoint_url=endpoint_url, region_name=region_name,
                      max_attempts=max_attempts).get_client()


class S3ObjectStoreResource(ObjectStoreResource):
    """The production object store: a bucket on S3 or any S3-compatible server.

    Credentials come from the standard AWS variables (AWS_ACCESS_KEY_ID...), read by boto3.
    """

    bucket: str = Field(description="Bucket of the objects; it must exist.")
    prefix: str = Field(default="", description="Key prefix in the bucket, e.g. fileproc/prod.")
    endpoint_url: str | None = Field(default=None, description=(
        "URL of an S3-compatible server (MinIO, Ceph...); empty: AWS S3. It may hold a "
        "login: set it through EnvVar FILEPROC_S3_ENDPOINT_URL."))
    region_name: str | None = Field(default=None, description="AWS region; empty: boto3's.")
    max_attempts: int = Field(default=3, description=(
        "Retries of one request by boto3 before the step's retry policy takes over."))
    part_size_bytes: int = Field(default=DEFAULT_PART_SIZE, description=(
        "Files larger than this are uploaded in parts of this size, several at once."))

    def store(self) -> ObjectStore:
        from fileproc_dagster.storage.s3 import S3ObjectStore

        return S3ObjectStore(_s3_client(self.endpoint_url, self.region_name, self.max_attempts),
                             self.bucket, self.prefix, part_size=self.part_size_bytes)


class FileprocResource(dg.ConfigurableResource):
    """The systems a file passes through, composed: what every asset and the upload sensor take.

    Each system is also a resource of its own in the definitions (the same objects), so the
    UI lists each one's configuration.
    """

    uploads: UploadsResource
    records: RecordsResource
    object_store: ObjectStoreResource
    notifier: NotifierResource
    extractor: ExtractorResource
    batching: BatchingResource

    def hooks(self) -> Hooks:
        """What the pipeline calls at each step boundary: nothing, in the product."""
        return NO_HOOKS

    def pipeline(self, with_store: bool = True) -> Pipeline:
        """The domain pipeline behind these resources (a bad file is quarantined from any
        step, which needs the upload directories and the notifier); a step that never reads
        or writes objects goes without the object store."""
        return Pipeline(records=self.records.store(), upload_dir=Path(self.uploads.upload_dir),
                        quarantine_dir=Path(self.uploads.quarantine_dir),
                        notifier=self.notifier.notifier(), hooks=self.hooks(),
                        store=self.object_store.store() if with_store else None)
