"""The door of the upload directory: register a finished upload, or refuse it unread.

A regular file is hashed through a descriptor that never follows a link and registered under a
content-derived partition key; identical content maps to the record that already has it.
Symlinks, directories and other entries that are not regular files, files over the size limit
and names that are not text are never read. Their record is keyed by the name plus a digest of
the entry's identity (device, inode, type, size, mtime, link text), not of content, and the
entry itself (never what a link points to) is moved to ``quarantine/<key>/``.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
from pathlib import Path

from fileproc_dagster.errors import BadInput, size_text
from fileproc_dagster.intake.moves import move_aside
from fileproc_dagster.intake.names import is_storable_name, partition_key, upload_path
from fileproc_dagster.settings import DEFAULT_MAX_UPLOAD_BYTES
from fileproc_dagster.storage.records import Received, Record, Records

log = logging.getLogger(__name__)

_KINDS = {stat.S_IFIFO: "named pipe", stat.S_IFSOCK: "socket", stat.S_IFCHR: "device file",
          stat.S_IFBLK: "device file"}


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


def record_refusal(records: Records, name: str, info: os.stat_result, *, link: str = "",
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
    return records.uploads.refuse(partition_key(shown, digest), shown, digest, info.st_size,
                                  info.st_mtime_ns, reason, details)


def refuse(upload_dir: Path, quarantine_dir: Path, name: str, records: Records, *,
           max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> Record | None:
    """Quarantine an entry of the upload directory unread: record it, move the entry itself.


    None when the entry vanished before it could be looked at.
    """
    path = upload_path(upload_dir, name)
    try:
        info = os.lstat(path)
        link = os.readlink(path) if stat.S_ISLNK(info.st_mode) else ""
    except FileNotFoundError:
        return None
    record = record_refusal(records, name, info, link=link, max_bytes=max_bytes)
    try:
        moved = move_aside(path, quarantine_dir / record.key)
    except FileNotFoundError:
        return record
    log.warning("refused %r (%s): moved to %s", name, record.error, moved)
    return record


def receive(upload_dir: Path, name: str, records: Records,
            origin: str = "sensor") -> Received:
    """Register one stable upload: hash it, derive its key and map it to its record."""
    path = upload_path(upload_dir, name)
    if not stat.S_ISREG(os.lstat(path).st_mode):
        raise BadInput(f"not a regular file: {name!r}", verdict="unsupported")
    if not is_storable_name(name):
        raise BadInput(f"file name is not valid UTF-8: {name!r}", verdict="unsupported")
    # Opened without following links and checked again: a name swapped for a symlink or a
    # FIFO since the listing is refused, never followed or blocked on.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise BadInput(f"not a regular file: {name!r}", verdict="unsupported") from exc
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise BadInput(f"not a regular file: {name!r}", verdict="unsupported")
        sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
    return records.uploads.receive(partition_key(name, sha256), name, sha256, info.st_size,
                                   info.st_mtime_ns, origin)


def admit(upload_dir: Path, quarantine_dir: Path, name: str, records: Records, *,
          max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, origin: str = "sensor"
          ) -> Received | Record | None:
    """Register a stable entry of the upload directory, or refuse it at the door.


    Received: a regular file, registered for processing. Record: refused unread and
    quarantined. None: it vanished since the listing (nothing to keep).
    """
    try:
        info = os.lstat(upload_path(upload_dir, name))
    except FileNotFoundError:
        return None
    if (not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes
            or not is_storable_name(name)):
        return refuse(upload_dir, quarantine_dir, name, records, max_bytes=max_bytes)
    try:
        return receive(upload_dir, name, records, origin=origin)
    except FileNotFoundError:
        return None
