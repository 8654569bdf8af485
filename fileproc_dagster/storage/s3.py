"""The object store on S3 or any S3-compatible server (MinIO, Ceph, moto...).

Objects keep the content-addressed keys of the local store, under a prefix
(``s3://bucket/prefix/objects/ab/<sha256>``), and carry their digest as metadata
(``x-amz-meta-sha256``): an object already present with that digest is not uploaded again.
Large files go up in parts, several at once, each read from disk as it is sent; reads stream.

Failures of the service (no connection, 5xx, throttling) raise TransientError, so the step is
retried; a missing bucket or refused credentials raise ConfigurationError.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
)
from botocore.exceptions import ConnectionError as ServiceConnectionError

from fileproc_dagster.errors import ConfigurationError, TransientError
from fileproc_dagster.secrets import hide_userinfo, without_userinfo
from fileproc_dagster.storage.objects import (
    CHUNK,
    DEFAULT_PART_SIZE,
    check_digest,
    copy_hashing,
    object_key,
)

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

# What S3 and compatible servers answer for "slow down" or "try again later".
_RETRYABLE_CODES = frozenset({
    "SlowDown", "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
    "TooManyRequestsException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "RequestTimeout", "RequestTimeoutException", "ServiceUnavailable", "InternalError"})
_DENIED_CODES = frozenset({"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"})


class S3ObjectStore:
    """Objects in one bucket under ``prefix``, with the methods of LocalObjectStore.

    ``client`` is a boto3 S3 client (thread-safe: share one per process). The bucket must
    exist. Example::

        client = boto3.client("s3", endpoint_url="http://127.0.0.1:9000")
        store = S3ObjectStore(client, "files", "fileproc/prod")
        store.put_file(path, sha256_of(path))  # 's3://files/fileproc/prod/objects/ab/ab12...'
        with store.open(sha256_of(path)) as stream:
            head = stream.read(1024)
    """

    def __init__(self, client: Any, bucket: str, prefix: str = "", *,
                 part_size: int = DEFAULT_PART_SIZE, max_concurrency: int = 4,
                 spool_dir: Path | None = None) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.spool_dir = spool_dir
        self.transfer = TransferConfig(
            multipart_threshold=part_size, multipart_chunksize=part_size,
            max_concurrency=max_concurrency, preferred_transfer_client="classic")
        self._bucket_found = False

    @property
    def endpoint(self) -> str:
        """The URL of the S3 service this store talks to, as it may be shown (no login)."""
        return without_userinfo(str(self.client.meta.endpoint_url))

    def put_file(self, path: Path, sha256: str) -> str:
        key = self._key(object_key(sha256))
        if self._holds(key, sha256):
            return self._uri(key)
        # What goes up is a private copy checked against the digest on the way: the upload
        # may still change, and a content key must never hold other bytes (puts trust it).
        with tempfile.TemporaryDirectory(prefix="fileproc-s3-", dir=self.spool_dir) as tmp:
            snapshot = Path(tmp) / "object"
            with open(path, "rb") as source, open(snapshot, "wb") as copy:
                digest = copy_hashing(source, copy)
            check_digest(digest, sha256)
            with self._calls(f"storing {self._uri(key)}"):
                self.client.upload_file(str(snapshot), self.bucket, key, Config=self.transfer,
                                        ExtraArgs={"Metadata": {"sha256": sha256}})
        return self._uri(key)

    def put_bytes(self, key: str, data: bytes) -> str:
        full = self._key(key)
        digest = hashlib.sha256(data).hexdigest()
        if not self._holds(full, digest):
            with self._calls(f"storing {self._uri(full)}"):
                self.client.put_object(
                    Bucket=self.bucket, Key=full, Body=data, Metadata={"sha256": digest},
                    ContentType=mimetypes.guess_type(full)[0] or "application/octet-stream")
        return self._uri(full)

    def exists(self, sha256: str) -> bool:
        return self._holds(self._key(object_key(sha256)), sha256)

    def open(self, sha256: str) -> BinaryIO:
        key = self._key(object_key(sha256))
        uri = self._uri(key)
        with self._calls(f"reading {uri}"):
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if _code(exc) == "NoSuchKey":
                    raise FileNotFoundError(f"no object {uri}") from exc
                raise
        return io.BufferedReader(
            _Stream(response["Body"], lambda: self._calls(f"reading {uri}")), CHUNK)

    def location(self, sha256: str) -> str:
        return self._uri(self._key(object_key(sha256)))

    def _key(self, key: str) -> str:
        if key.startswith("/") or "\\" in key or any(
                part in ("", ".", "..") for part in key.split("/")):
            raise ValueError(f"object key escapes the store: {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    def _uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _holds(self, key: str, sha256: str) -> bool:
        """Whether ``key`` holds an object stored with this digest (one HEAD request)."""
        with self._calls(f"looking up {self._uri(key)}"):
            try:
                head = self.client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if _status(exc) != 404:
                    raise
                self._check_bucket()
                return False
        return bool(head.get("Metadata", {}).get("sha256") == sha256)

    def _check_bucket(self) -> None:
        # A HEAD answers a bare 404 for a missing key and a missing bucket alike.
        if self._bucket_found:
            return
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _status(exc) == 404:
                raise self._missing_bucket() from exc
            raise
        self._bucket_found = True

    def _missing_bucket(self) -> ConfigurationError:
        return ConfigurationError(
            f"bucket {self.bucket} does not exist at {self.endpoint}; create it "
            f"(aws s3 mb s3://{self.bucket} --endpoint-url {self.endpoint}) or configure "
            f"an existing one")

    @contextmanager
    def _calls(self, doing: str) -> Iterator[None]:
        """Failures of the service as the errors the steps act on."""
        try:
            yield
        except (BotoCoreError, ClientError, S3UploadFailedError) as exc:
            failure = self._failure(exc, f"{doing} at {self.endpoint}")
            if failure is None:
                raise
            # botocore's words may quote the endpoint URL, login and all: such a cause is not
            # chained (Dagster shows causes in the UI), its text is, login hidden.
            shown = hide_userinfo(str(failure))
            raise type(failure)(shown) from (exc if shown == str(failure) else None)

    def _failure(self, exc: Exception, doing: str) -> Exception | None:
        answer = exc
        if isinstance(exc, S3UploadFailedError) and isinstance(exc.__context__, ClientError):
            answer = exc.__context__  # boto3's transfer flattens the service's answer to text
        if isinstance(answer, ServiceConnectionError | HTTPClientError | IncompleteReadError):
            return TransientError(f"object store unavailable: {doing}: {answer}")
        if isinstance(answer, NoCredentialsError):
            return ConfigurationError(f"no AWS credentials for {doing}: set AWS_ACCESS_KEY_ID "
                                      f"and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)")
        if isinstance(answer, ClientError):
            code, status = _code(answer), _status(answer)
            if status >= 500 or status == 429 or code in _RETRYABLE_CODES:
                return TransientError(f"object store unavailable: {doing}: {answer}")
            if code == "NoSuchBucket":
                return self._missing_bucket()
            if status == 403 or code in _DENIED_CODES:
                return ConfigurationError(
                    f"access denied {doing} ({code}): the AWS credentials must allow "
                    f"s3:GetObject, s3:PutObject and s3:ListBucket on {self.bucket}")
        return None


class _Stream(io.RawIOBase):
    """An object's body, read as it arrives; failures raised as the store's errors."""

    def __init__(self, body: Any, guard: Callable[[], AbstractContextManager[None]]) -> None:
        self._body = body
        self._guard = guard

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        with self._guard():
            data = self._body.read(len(view))
        view[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
