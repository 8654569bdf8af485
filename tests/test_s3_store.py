"""The S3 object store against moto's S3 server over HTTP on loopback (no client mocks)."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fileproc_dagster.errors import BadInput, ConfigurationError, TransientError
from fileproc_dagster.storage.objects import object_key, sha256_of
from fileproc_dagster.storage.s3 import S3ObjectStore
from support.s3server import S3Server, running

MiB = 2**20


def _file(tmp_path: Path, data: bytes, name: str = "memo; rm -rf ~.pdf") -> tuple[Path, str]:
    path = tmp_path / name
    path.write_bytes(data)
    return path, sha256_of(path)


def _head(server: S3Server, bucket: str, key: str) -> dict[str, Any]:
    head: dict[str, Any] = server.client().head_object(Bucket=bucket, Key=key)
    return head


@pytest.fixture()
def store(s3_server: S3Server, s3_bucket: str) -> S3ObjectStore:
    return S3ObjectStore(s3_server.client(), s3_bucket, "fileproc/test", part_size=5 * MiB)


@pytest.fixture()
def own_server() -> Iterator[S3Server]:
    """A server of the test's own, which it may stop and start."""
    yield from running()


def test_put_exists_open_location(store: S3ObjectStore, s3_server: S3Server,
                                  tmp_path: Path) -> None:
    path, sha = _file(tmp_path, b"%PDF-1.4 lending policy")
    key = f"fileproc/test/{object_key(sha)}"
    assert not store.exists(sha)
    location = store.put_file(path, sha)
    assert location == store.location(sha) == f"s3://{store.bucket}/{key}"
    assert store.exists(sha)
    with store.open(sha) as stream:
        assert stream.read() == b"%PDF-1.4 lending policy"
    head = _head(s3_server, store.bucket, key)
    assert head["Metadata"] == {"sha256": sha}
    assert head["ContentLength"] == len(b"%PDF-1.4 lending policy")
    listed = s3_server.client().list_objects_v2(Bucket=store.bucket)["Contents"]
    assert [o["Key"] for o in listed] == [key]  # the upload's name is nowhere


def test_same_content_is_not_uploaded_twice(store: S3ObjectStore, s3_server: S3Server,
                                            tmp_path: Path) -> None:
    path, sha = _file(tmp_path, b"the same bytes")
    key = f"fileproc/test/{object_key(sha)}"
    first = store.put_file(path, sha)
    before = _head(s3_server, store.bucket, key)
    again = store.put_file(path, sha)
    # Another process (a retry, another worker) with a store of its own.
    other = S3ObjectStore(s3_server.client(), store.bucket, "fileproc/test")
    copy, _ = _file(tmp_path, b"the same bytes", name="copy.txt")
    assert first == again == other.put_file(copy, sha)
    assert [r.method for r in s3_server.writes(store.bucket, key)] == ["PUT"]
    after = _head(s3_server, store.bucket, key)
    assert (after["ETag"], after["LastModified"]) == (before["ETag"], before["LastModified"])


def test_an_object_without_its_digest_is_uploaded_again(store: S3ObjectStore,
                                                        s3_server: S3Server,
                                                        tmp_path: Path) -> None:
    path, sha = _file(tmp_path, b"copied in by hand")
    key = f"fileproc/test/{object_key(sha)}"
    s3_server.client().put_object(Bucket=store.bucket, Key=key, Body=b"copied in by hand")
    assert not store.exists(sha)
    store.put_file(path, sha)
    assert store.exists(sha)
    assert _head(s3_server, store.bucket, key)["Metadata"] == {"sha256": sha}


def test_a_large_file_goes_up_in_parts(store: S3ObjectStore, s3_server: S3Server,
                                       tmp_path: Path) -> None:
    path, sha = _file(tmp_path, os.urandom(12 * MiB))
    key = f"fileproc/test/{object_key(sha)}"
    store.put_file(path, sha)
    head = _head(s3_server, store.bucket, key)
    assert head["ETag"].strip('"').endswith("-3")  # 5 + 5 + 2 MiB
    assert head["Metadata"] == {"sha256": sha}
    writes = s3_server.writes(store.bucket, key)
    assert [r.method for r in writes] == ["POST", "PUT", "PUT", "PUT", "POST"]
    with store.open(sha) as stream:
        assert hashlib.sha256(stream.read()).hexdigest() == sha


def test_open_streams_the_object(s3_server: S3Server, s3_bucket: str, tmp_path: Path) -> None:
    path, sha = _file(tmp_path, os.urandom(24 * MiB))
    store = S3ObjectStore(s3_server.client(), s3_bucket)
    store.put_file(path, sha)
    tracemalloc.start(40)
    try:
        with store.open(sha) as stream:
            digest = hashlib.sha256(stream.read(MiB))
            held = tracemalloc.take_snapshot()
            for chunk in iter(lambda: stream.read(MiB), b""):
                digest.update(chunk)
    finally:
        tracemalloc.stop()
    assert digest.hexdigest() == sha
    # What this side of the connection holds after the first MiB (the server's copy of the
    # object lives in this process too, so its allocations are left out).
    client_side = held.filter_traces([
        tracemalloc.Filter(False, pattern, all_frames=True)
        for pattern in ("*/moto/*", "*/werkzeug/*", "*/socketserver.py", "*/http/server.py")])
    assert sum(t.size for t in client_side.traces) < 6 * MiB


def test_thumbnails_are_stored_beside_the_object(store: S3ObjectStore, s3_server: S3Server,
                                                 tmp_path: Path) -> None:
    sha = "ab" * 32
    location = store.put_bytes(f"thumbnails/ab/{sha}.png", b"\x89PNG small")
    key = f"fileproc/test/thumbnails/ab/{sha}.png"
    assert location == f"s3://{store.bucket}/{key}"
    assert store.put_bytes(f"thumbnails/ab/{sha}.png", b"\x89PNG small") == location
    assert len(s3_server.writes(store.bucket, key)) == 1
    head = _head(s3_server, store.bucket, key)
    assert head["ContentType"] == "image/png"
    assert head["Metadata"] == {"sha256": hashlib.sha256(b"\x89PNG small").hexdigest()}


def test_bytes_that_changed_since_registration_are_refused(store: S3ObjectStore,
                                                           s3_server: S3Server,
                                                           tmp_path: Path) -> None:
    path, sha = _file(tmp_path, b"registered content")
    path.write_bytes(b"swapped in later")
    with pytest.raises(BadInput, match="changed after it was received"):
        store.put_file(path, sha)
    assert not store.exists(sha)
    assert s3_server.writes(store.bucket, f"fileproc/test/{object_key(sha)}") == []


def test_a_missing_bucket_is_a_configuration_error(s3_server: S3Server, tmp_path: Path) -> None:
    path, sha = _file(tmp_path, b"anything")
    store = S3ObjectStore(s3_server.client(), "no-such-bucket")
    message = f"bucket no-such-bucket does not exist at {s3_server.endpoint_url}; create it"
    with pytest.raises(ConfigurationError, match=message):
        store.put_file(path, sha)
    with pytest.raises(ConfigurationError, match=message):
        store.open(sha)


def test_an_outage_is_transient_and_recovers(own_server: S3Server, tmp_path: Path) -> None:
    bucket = own_server.new_bucket()
    store = S3ObjectStore(own_server.client(), bucket)
    stored, stored_sha = _file(tmp_path, b"stored before the outage", name="a.txt")
    store.put_file(stored, stored_sha)
    path, sha = _file(tmp_path, b"arrived during the outage", name="b.txt")
    own_server.stop()
    for attempt in (lambda: store.put_file(path, sha), lambda: store.exists(sha),
                    lambda: store.open(stored_sha), lambda: store.put_bytes("t/x.png", b"x")):
        with pytest.raises(TransientError, match="object store unavailable: .*Could not "
                                                 "connect to the endpoint URL"):
            attempt()
    own_server.start()  # the same port, the same buckets
    assert store.put_file(path, sha) == store.location(sha)
    assert store.exists(sha)
    with store.open(stored_sha) as stream:
        assert stream.read() == b"stored before the outage"


def test_a_read_cut_short_is_transient(own_server: S3Server, tmp_path: Path) -> None:
    bucket = own_server.new_bucket()
    store = S3ObjectStore(own_server.client(), bucket)
    path, sha = _file(tmp_path, os.urandom(32 * MiB))
    store.put_file(path, sha)
    with store.open(sha) as stream:
        assert len(stream.read(MiB)) == MiB
        own_server.stop()  # closes the connection the object is arriving on
        with pytest.raises(TransientError, match="object store unavailable: reading s3://"):
            while stream.read(MiB):
                pass


@pytest.mark.parametrize("status,code", [(503, "SlowDown"), (500, "InternalError"),
                                         (503, "ServiceUnavailable")])
def test_throttling_and_server_errors_are_transient(store: S3ObjectStore, s3_server: S3Server,
                                                    tmp_path: Path, status: int,
                                                    code: str) -> None:
    path, sha = _file(tmp_path, b"throttled")
    s3_server.fail_next(1, status, code, when=lambda r: r.method == "PUT")
    with pytest.raises(TransientError, match=f"object store unavailable: storing .*{code}"):
        store.put_file(path, sha)
    s3_server.fail_next(1, status, code)  # a HEAD answer has no body: the status tells
    with pytest.raises(TransientError, match=f"object store unavailable: .*{status}"):
        store.exists(sha)
    assert store.put_file(path, sha) == store.location(sha)


def test_a_part_failing_stores_nothing_until_the_retry(store: S3ObjectStore,
                                                       s3_server: S3Server,
                                                       tmp_path: Path) -> None:
    path, sha = _file(tmp_path, os.urandom(11 * MiB))
    s3_server.fail_next(1, 503, "SlowDown", when=lambda r: "partNumber=2" in r.query)
    with pytest.raises(TransientError, match="SlowDown"):
        store.put_file(path, sha)
    assert not store.exists(sha)
    assert s3_server.client().list_multipart_uploads(Bucket=store.bucket).get("Uploads") is None
    store.put_file(path, sha)
    assert store.exists(sha)


def test_the_client_rides_out_a_single_slow_down(s3_server: S3Server, s3_bucket: str,
                                                 tmp_path: Path) -> None:
    path, sha = _file(tmp_path, b"retried by boto3")
    store = S3ObjectStore(s3_server.client(max_attempts=3), s3_bucket)
    s3_server.fail_next(1, 503, "SlowDown")
    assert store.put_file(path, sha) == store.location(sha)
