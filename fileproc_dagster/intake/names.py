"""Upload names are untrusted: the partition keys made from them, and the one way to join one
to a directory (a single path component; never passed to a shell, never put into SQL text).
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from fileproc_dagster.errors import BadInput

KEY_STEM_CHARS = 40


NAME_MAX_BYTES = 255  # one path component on the usual Linux filesystems


def partition_key(name: str, sha256: str) -> str:
    """A readable, content-unique partition key: sanitized stem plus a short content hash."""
    stem = Path(name).stem or name
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_stem).strip("_-")[:KEY_STEM_CHARS]
    return f"{cleaned.rstrip('_-') or 'file'}-{sha256[:12]}"


def upload_path(upload_dir: Path, name: str) -> Path:
    """The path of an upload, refusing anything that is not a plain name inside the directory."""
    if not name or name in {".", ".."} or "/" in name or "\0" in name:
        raise BadInput(f"refused upload name {name!r}", verdict="unsupported")
    return upload_dir / name


def is_storable_name(name: str) -> bool:
    """Whether a name from the file system is text (not undecodable bytes) a database takes."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def numbered(name: str, counter: int) -> str:
    """``name``, or ``stem (n).suffix`` shortened to fit one path component."""
    if counter == 0:
        return name
    stem, suffix = Path(name).stem, Path(name).suffix
    tail = f" ({counter}){suffix}"
    if len(os.fsencode(tail)) > NAME_MAX_BYTES // 2:
        tail = f" ({counter})"  # a "suffix" that long is not a file type worth keeping
    while stem and len(os.fsencode(stem + tail)) > NAME_MAX_BYTES:
        stem = stem[:-1]
    return stem + tail
