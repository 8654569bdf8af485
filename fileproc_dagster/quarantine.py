"""The door of the upload directory: what is refused unread, and releasing quarantined files.

Symlinks, directories and other entries that are not regular files, files over the size
limit and names that are not text are never read. Their record is keyed by the name plus a
digest of the entry's identity (device, inode, type, size, mtime, link text), not of content,
and the entry itself (never what a link points to) is moved to ``quarantine/<key>/``.

A quarantined file is released back into the upload directory under its own name (atomically,
never overwriting) and its record reopened, so the sensor registers it again::

    from fileproc_dagster import quarantine
    quarantine.release(upload_dir, quarantine_dir, "letter-4aad360a2c10", records)
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from fileproc_dagster import uploads
from fileproc_dagster.errors import FileprocError
from fileproc_dagster.records import END_STATES, Received, Record, RecordStore
from fileproc_dagster.settings import DEFAULT_MAX_UPLOAD_BYTES

log = logging.getLogger(__name__)

KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,128}")
_KINDS = {stat.S_IFIFO: "named pipe", stat.S_IFSOCK: "socket", stat.S_IFCHR: "device file",
          stat.S_IFBLK: "device file"}


def size_text(n: int) -> str:
    """A byte count as people read it (binary units)."""
    if n < 1024:
        return f"{n} bytes"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"


def _refusal(info: os.stat_result, max_bytes: int) -> tuple[str, str]:
    """What kind of entry this is and why it is refused."""
    kind = stat.S_IFMT(info.st_mode)
    if kind == stat.S_IFLNK:
        return "symlink", "a symbolic link: links are never followed, upload the file itself"
    if kind == stat.S_IFDIR:
        return "directory", "a directory, not a file: folders are not processed"
    if kind != stat.S_IFREG:
        what = _KINDS.get(kind, "special file")
        return what, f"a {what}, not a regular file"
    if info.st_size > max_bytes:
        return "oversized", (f"file of {size_text(info.st_size)} is over the upload limit of "
                             f"{size_text(max_bytes)} (FILEPROC_MAX_UPLOAD_BYTES); not read")
    return "name", "the file name is not valid UTF-8 text: rename the file and upload it again"


def record_refusal(records: RecordStore, name: str, info: os.stat_result, *, link: str = "",
                   max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> Record:
    """Record an entry as quarantined without reading it, keyed by its identity."""
    kind, reason = _refusal(info, max_bytes)
    digest = hashlib.sha256("\0".join([
        "fileproc-refused", os.fsencode(name).hex(), str(info.st_dev), str(info.st_ino),
        str(info.st_mode), str(info.st_size), str(info.st_mtime_ns), os.fsencode(link).hex(),
    ]).encode()).hexdigest()
    # Names that are not text are stored readable; the entry keeps its real name on disk.
    shown = os.fsencode(name).decode("utf-8", "replace")
    details = {"refused": kind, "identity": "sha256 is a digest of the entry, not of content"}
    if link:
        details["link"] = os.fsencode(link).decode("utf-8", "replace")
    return records.refuse(uploads.partition_key(shown, digest), shown, digest, info.st_size,
                          info.st_mtime_ns, reason, details)


def refuse(upload_dir: Path, quarantine_dir: Path, name: str, records: RecordStore, *,
           max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> Record | None:
    """Quarantine an entry of the upload directory unread: record it, move the entry itself.

    None when the entry vanished before it could be looked at.
    """
    path = uploads.upload_path(upload_dir, name)
    try:
        info = os.lstat(path)
        link = os.readlink(path) if stat.S_ISLNK(info.st_mode) else ""
    except FileNotFoundError:
        return None
    record = record_refusal(records, name, info, link=link, max_bytes=max_bytes)
    try:
        moved = uploads.move_aside(path, quarantine_dir / record.key)
    except FileNotFoundError:
        return record
    log.warning("refused %r (%s): moved to %s", name, record.error, moved)
    return record


def admit(upload_dir: Path, quarantine_dir: Path, name: str, records: RecordStore, *,
          max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, origin: str = "sensor"
          ) -> Received | Record | None:
    """Register a stable entry of the upload directory, or refuse it at the door.

    Received: a regular file, registered for processing. Record: refused unread and
    quarantined. None: it vanished since the listing (nothing to keep).
    """
    try:
        info = os.lstat(uploads.upload_path(upload_dir, name))
    except FileNotFoundError:
        return None
    if (not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes
            or not uploads.is_storable_name(name)):
        return refuse(upload_dir, quarantine_dir, name, records, max_bytes=max_bytes)
    try:
        return uploads.receive(upload_dir, name, records, origin=origin)
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class Released:
    """What releasing one quarantined key did."""

    key: str
    moved: list[Path]  # back in the upload directory, under their own names
    kept: dict[str, str]  # name -> why it stayed in quarantine
    state: str  # the record's state afterwards


def release(upload_dir: Path, quarantine_dir: Path, key: str, records: RecordStore) -> Released:
    """Move a key's quarantined files back into the upload directory and reopen its record.

    Each file goes back under its own name, atomically and never over an existing file, with
    a fresh mtime, so the sensor registers it as a new upload of the same record. Refused
    entries that are not regular files (symlinks, directories) stay where they are.
    """
    if not KEY_PATTERN.fullmatch(key):
        raise FileprocError(f"not a partition key: {key!r}")
    record = records.get(key)
    if record is None:
        raise FileprocError(f"no record for {key!r}")
    if record.state not in (*END_STATES, "received"):
        raise FileprocError(f"{key!r} is {record.state}, not quarantined")
    folder = quarantine_dir / key
    names = sorted(os.listdir(folder)) if folder.is_dir() else []
    if not names:
        raise FileprocError(f"nothing of {key!r} is in quarantine ({folder})")
    refused = (record.details or {}).get("refused")
    if not refused:
        # Reopened first: a file the sensor sees come back must find its record ready to run.
        records.release_uploads(key)
        records.reopen(key)
    upload_dir.mkdir(parents=True, exist_ok=True)
    moved: list[Path] = []
    kept: dict[str, str] = {}
    for name in names:
        source = folder / name
        if not stat.S_ISREG(os.lstat(source).st_mode):
            kept[name] = "not a regular file, which is never processed: remove it by hand"
            continue
        os.utime(source)  # a new mtime: a new upload for the sensor, the old one is history
        target = uploads.upload_path(upload_dir, name)
        try:
            uploads.link_new(source, target)
        except FileExistsError:
            kept[name] = f"{target} exists: move or rename it, then release again"
            continue
        moved.append(target)
    with contextlib.suppress(OSError):
        folder.rmdir()
    if refused and moved:
        stamp = time.strftime("%Y-%m-%d %H:%M")
        records.fail(key, f"released for another try on {stamp}; was: {record.error}",
                     state="quarantined")
    elif not moved and not refused:
        records.fail(key, record.error or "quarantined", state="quarantined")
    after = records.get(key)
    log.info("released %s: %d file(s) back, %d kept", key, len(moved), len(kept))
    return Released(key, moved, kept, after.state if after else "unknown")
