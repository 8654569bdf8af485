"""The local object store: content-addressed, atomic and idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest

from fileproc_dagster.errors import BadInput
from fileproc_dagster.storage.objects import LocalObjectStore, object_key, sha256_of


def test_put_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    source = tmp_path / "a; rm -rf $(id).txt"
    source.write_bytes(b"hello")
    sha = sha256_of(source)
    store = LocalObjectStore(tmp_path / "store")
    first = store.put_file(source, sha)
    second = store.put_file(source, sha)
    assert first == second == store.location(sha)
    assert object_key(sha) == f"objects/{sha[:2]}/{sha}"
    assert store.exists(sha)
    with store.open(sha) as handle:
        assert handle.read() == b"hello"
    # One object, no temporary files left behind, the name is nowhere in the store.
    files = [p for p in (tmp_path / "store").rglob("*") if p.is_file()]
    assert [p.name for p in files] == [sha]


def test_keys_cannot_escape_the_store(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "store")
    with pytest.raises(ValueError):
        store.put_bytes("../../etc/passwd", b"x")
    with pytest.raises(ValueError):
        object_key("../" + "0" * 61)


def test_bytes_that_changed_since_registration_are_refused(tmp_path: Path) -> None:
    source = tmp_path / "memo.txt"
    source.write_bytes(b"registered content")
    sha = sha256_of(source)
    source.write_bytes(b"swapped in later")
    store = LocalObjectStore(tmp_path / "store")
    with pytest.raises(BadInput, match="changed after it was received"):
        store.put_file(source, sha)
    assert not store.exists(sha)
    assert [p for p in (tmp_path / "store").rglob("*") if p.is_file()] == []
