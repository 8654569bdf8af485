"""Moving uploads atomically: into the upload directory, aside into quarantine, deleted once
processed. Nothing is ever overwritten, and a name taken over by a new file is left alone.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from pathlib import Path

from fileproc_dagster.intake.names import numbered, upload_path
from fileproc_dagster.storage.records import Upload


def is_same_upload(upload_dir: Path, upload: Upload) -> bool:
    """Whether the file under the upload's name is still the one that was received."""
    if upload.parent_key is not None:
        return False  # a member of an archive or a mail: its bytes are in the object store
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
