"""The upload directory: what counts as a finished upload, partition keys, and moving files.

Names come from untrusted users: they are only ever used as one path component inside the
upload or quarantine directory, never passed to a shell, and never put into SQL text.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import stat
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fileproc_dagster.errors import BadInput
from fileproc_dagster.records import Received, RecordStore, Upload

TEMPORARY_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".download", ".swp", "~")
KEY_STEM_CHARS = 40
NAME_MAX_BYTES = 255  # one path component on the usual Linux filesystems

# name -> (size, mtime_ns, changed_ns): one observation of a file in the upload directory;
# changed_ns is the later of mtime and ctime, which a copy that keeps old times cannot fake.
Observation = tuple[int, int, int]


def is_temporary(name: str) -> bool:
    """Names of files still being written by some tool, or hidden: never processed."""
    lowered = name.lower()
    return name.startswith(".") or lowered.endswith(TEMPORARY_SUFFIXES)


def list_entries(upload_dir: Path) -> dict[str, Observation]:
    """Everything the sensor must look at: regular files, and the symlinks, directories and
    other entries that are refused (quarantined unread) once they stop changing."""
    listing: dict[str, Observation] = {}
    with os.scandir(upload_dir) as entries:
        for entry in entries:
            if is_temporary(entry.name):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            listing[entry.name] = (info.st_size, info.st_mtime_ns,
                                   max(info.st_mtime_ns, info.st_ctime_ns))
    return listing


@dataclass(frozen=True)
class ScanResult:
    """Files that became stable since the last check, and the observations to keep."""

    ready: list[str]
    waiting: dict[str, Observation]


def scan(previous: Mapping[str, Observation], listing: Mapping[str, Observation],
         registered: set[str], now_ns: int = 0, settle_ns: int | None = None) -> ScanResult:
    """Pure diff of one sensor tick.

    A file is ready when nothing changed it for ``settle_ns`` before ``now_ns`` (by its
    timestamps), or when it was seen with the same size and times on the previous check: a
    file still being written is left alone. Files already registered are skipped. Only files
    waiting for another look are carried over, so the state stays O(new files).
    """
    ready: list[str] = []
    waiting: dict[str, Observation] = {}
    for name, observation in listing.items():
        if name in registered:
            continue
        quiet_ns = now_ns - observation[2]
        if previous.get(name) == observation or (
                settle_ns is not None and quiet_ns >= settle_ns):
            ready.append(name)
        else:
            waiting[name] = observation
    return ScanResult(ready=sorted(ready), waiting=waiting)


def settles_in(waiting: Mapping[str, Observation], now_ns: int, settle_ns: int) -> float | None:
    """Seconds until the first waiting file has been untouched for ``settle_ns``, if one will
    within that time (a file with a change time in the future will not)."""
    quiet = [now_ns - observation[2] for observation in waiting.values()]
    left = [settle_ns - q for q in quiet if 0 <= q < settle_ns]
    return min(left) / 1e9 if left else None


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


def receive(upload_dir: Path, name: str, records: RecordStore,
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
    return records.receive(partition_key(name, sha256), name, sha256, info.st_size,
                           info.st_mtime_ns, origin)


def is_same_upload(upload_dir: Path, upload: Upload) -> bool:
    """Whether the file under the upload's name is still the one that was received."""
    try:
        info = os.lstat(upload_path(upload_dir, upload.name))
    except FileNotFoundError:
        return False
    return (stat.S_ISREG(info.st_mode) and info.st_size == upload.size
            and info.st_mtime_ns == upload.mtime_ns)


def delete_upload(upload_dir: Path, upload: Upload) -> bool:
    """Delete a processed upload, unless it was replaced by a new file of the same name."""
    if not is_same_upload(upload_dir, upload):
        return False
    upload_path(upload_dir, upload.name).unlink(missing_ok=True)
    return True


def quarantine_upload(upload_dir: Path, quarantine_dir: Path, upload: Upload) -> Path | None:
    """Move a bad upload to ``quarantine/<key>/<name>``; never deletes or overwrites."""
    if not is_same_upload(upload_dir, upload):
        return None
    return move_aside(upload_path(upload_dir, upload.name), quarantine_dir / upload.key)


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


def link_new(source: Path, target: Path) -> None:
    """Give ``source`` the name ``target`` atomically; FileExistsError if it is taken.

    A hard link never replaces an existing name (rename would) and never follows a symlink;
    across file systems the bytes are copied under a hidden name first.
    """
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        if os.path.islink(source):
            os.symlink(os.readlink(source), target)  # recreated, never followed
        else:
            fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".move-",
                                             suffix=".part")
            os.close(fd)
            try:
                shutil.copy2(source, temporary)
                os.link(temporary, target)
            finally:
                os.unlink(temporary)
    os.unlink(source)


def move_aside(source: Path, folder: Path) -> Path:
    """Move a file, symlink or directory into ``folder`` under a free name; never overwrites."""
    folder.mkdir(parents=True, exist_ok=True)
    is_dir = stat.S_ISDIR(os.lstat(source).st_mode)
    for counter in range(10_000):
        target = folder / numbered(source.name, counter)
        if is_dir:  # no hard links to directories; the folder is ours, so check-then-move
            if target.exists() or target.is_symlink():
                continue
            shutil.move(source, target)
            return target
        try:
            link_new(source, target)
            return target
        except FileExistsError:
            continue
    raise FileExistsError(f"no free name for {source.name!r} in {folder}")


def copy_into(source: Path, upload_dir: Path) -> Path:
    """Copy a file into the upload directory atomically (temporary name, then link).

    The copy is written under a hidden ``.part`` name the sensor ignores; linking it into place
    never overwrites an existing upload: a taken name gets a `` (n)`` suffix instead.
    """
    upload_dir.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=upload_dir, prefix=".upload-", suffix=".part")
    os.close(fd)
    try:
        shutil.copyfile(source, temporary)
        for counter in range(10_000):
            target = upload_dir / numbered(source.name, counter)
            try:
                os.link(temporary, target)
                return target
            except FileExistsError:
                continue
        raise FileExistsError(f"no free name for {source.name!r} in the upload directory")
    finally:
        os.unlink(temporary)
