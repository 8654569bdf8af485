"""The ObjectStore contract: the same assertions against every implementation.

The local directory and S3 (moto's server over HTTP on loopback) must be interchangeable
for the pipeline; what differs is only the scheme of the locations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fileproc_dagster.errors import BadInput
from fileproc_dagster.storage.objects import LocalObjectStore, ObjectStore, sha256_of
from fileproc_dagster.storage.s3 import S3ObjectStore

SCHEMES = {"local": "file://", "s3": "s3://"}


@pytest.fixture(params=sorted(SCHEMES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalObjectStore(tmp_path / "store")
    server: Any = request.getfixturevalue("s3_server")
    return S3ObjectStore(server.client(), server.new_bucket(), "contract")


def _scheme(store: ObjectStore) -> str:
    return SCHEMES["s3" if isinstance(store, S3ObjectStore) else "local"]


def _file(tmp_path: Path, data: bytes, name: str = "../a name; with $(stuff).txt") -> Path:
    path = tmp_path / name.replace("/", "_")
    path.write_bytes(data)
    return path


def test_put_file_is_content_addressed_and_idempotent(store: ObjectStore,
                                                      tmp_path: Path) -> None:
    path = _file(tmp_path, b"hello")
    sha = sha256_of(path)
    assert not store.exists(sha)
    first = store.put_file(path, sha)
    assert store.put_file(path, sha) == first == store.location(sha)
    assert store.exists(sha)
    assert first.startswith(_scheme(store)) and first.endswith(f"/objects/{sha[:2]}/{sha}")
    assert "name" not in first


def test_open_reads_the_bytes_back_in_pieces(store: ObjectStore, tmp_path: Path) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    path = _file(tmp_path, data)
    sha = sha256_of(path)
    store.put_file(path, sha)
    with store.open(sha) as stream:
        assert stream.read(10) == data[:10]
        assert stream.read() == data[10:]
        assert stream.read() == b""
    assert stream.closed


def test_opening_a_missing_object_is_file_not_found(store: ObjectStore) -> None:
    with pytest.raises(FileNotFoundError):
        store.open("0" * 64)


def test_put_bytes_stores_beside_the_objects(store: ObjectStore, tmp_path: Path) -> None:
    path = _file(tmp_path, b"the object")
    sha = sha256_of(path)
    stored = store.put_file(path, sha)
    thumbnail = store.put_bytes(f"thumbnails/{sha[:2]}/{sha}.png", b"\x89PNG")
    assert store.put_bytes(f"thumbnails/{sha[:2]}/{sha}.png", b"\x89PNG") == thumbnail
    assert thumbnail.startswith(_scheme(store)) and thumbnail != stored
    root = stored.removesuffix(f"objects/{sha[:2]}/{sha}")
    assert thumbnail == f"{root}thumbnails/{sha[:2]}/{sha}.png"


@pytest.mark.parametrize("key", ["../../etc/passwd", "thumbnails/../../x", "/abs/key"])
def test_keys_cannot_escape_the_store(store: ObjectStore, key: str) -> None:
    with pytest.raises(ValueError, match="escapes the store"):
        store.put_bytes(key, b"x")


@pytest.mark.parametrize("sha", ["../" + "0" * 61, "A" * 64, "0" * 63])
def test_only_sha256_digests_name_objects(store: ObjectStore, sha: str) -> None:
    with pytest.raises(ValueError, match="not a sha256"):
        store.exists(sha)


def test_bytes_that_changed_since_registration_are_refused(store: ObjectStore,
                                                           tmp_path: Path) -> None:
    path = _file(tmp_path, b"registered content")
    sha = sha256_of(path)
    path.write_bytes(b"swapped in later")
    with pytest.raises(BadInput, match="changed after it was received"):
        store.put_file(path, sha)
    assert not store.exists(sha)
