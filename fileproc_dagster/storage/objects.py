"""Object storage behind one small interface: content-addressed keys, idempotent puts.

The key of an object is derived from its bytes (``objects/ab/<sha256>``), never from the file
name, so a retried or repeated put writes the same object once.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from fileproc_dagster.errors import BadInput

CHUNK = 1 << 20
# Files larger than this go to S3 in parts of this size (here, so configuring the S3 store
# does not need boto3).
DEFAULT_PART_SIZE = 8 * 2**20


def _digest(stream: BinaryIO) -> str:
    """Hex SHA-256 of what is left to read in ``stream``, read in chunks."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    with open(path, "rb") as handle:
        return _digest(handle)


def stored_digest(store: ObjectStore, sha256: str) -> str:
    """Hex SHA-256 of the bytes ``store`` holds under the key of ``sha256``, read back."""
    with store.open(sha256) as stream:
        return _digest(stream)


def copy_hashing(source: BinaryIO, target: BinaryIO) -> str:
    """Copy ``source`` into ``target`` in chunks; return the hex SHA-256 of the bytes copied."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: source.read(CHUNK), b""):
        digest.update(chunk)
        target.write(chunk)
    return digest.hexdigest()


def check_digest(actual: str, expected: str) -> None:
    """Refuse bytes that are not the ones registered: an object's key is their digest."""
    if actual != expected:
        raise BadInput("the upload changed after it was received (its content no "
                       "longer matches the digest it was registered with)")


def object_key(sha256: str, prefix: str = "objects") -> str:
    """The content-addressed key of an object."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return f"{prefix}/{sha256[:2]}/{sha256}"


class ObjectStore(Protocol):
    """Where the bytes of processed files live; implemented locally and on S3."""

    def put_file(self, path: Path, sha256: str) -> str:
        """Store the file under its content key (no-op if present); return its location.

        Raises BadInput when the bytes read do not have the digest ``sha256``.
        """
        ...

    def put_bytes(self, key: str, data: bytes) -> str:
        """Store derived bytes (e.g. a thumbnail) under ``key``; return its location."""
        ...

    def exists(self, sha256: str) -> bool:
        """Whether the object with this digest is already stored."""
        ...

    def open(self, sha256: str) -> BinaryIO:
        """Read an object back, streamed; FileNotFoundError when it is not stored."""
        ...

    def location(self, sha256: str) -> str:
        """The URI a record shows for this object."""
        ...


class LocalObjectStore:
    """The embedded default: a directory, written atomically (temp file, fsync, rename)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"object key escapes the store: {key!r}")
        return path

    def _write(self, key: str, source: BinaryIO, sha256: str | None = None) -> str:
        target = self._path(key)
        if target.exists():
            return target.as_uri()
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".put-")
        try:
            with os.fdopen(fd, "wb") as out:
                digest = copy_hashing(source, out)
                out.flush()
                os.fsync(out.fileno())
            if sha256 is not None:
                check_digest(digest, sha256)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target.as_uri()

    def put_file(self, path: Path, sha256: str) -> str:
        with open(path, "rb") as source:
            return self._write(object_key(sha256), source, sha256)

    def put_bytes(self, key: str, data: bytes) -> str:
        return self._write(key, io.BytesIO(data))

    def exists(self, sha256: str) -> bool:
        return self._path(object_key(sha256)).exists()

    def open(self, sha256: str) -> BinaryIO:
        return open(self._path(object_key(sha256)), "rb")

    def location(self, sha256: str) -> str:
        return self._path(object_key(sha256)).as_uri()
