"""ZIP, TAR (plain or compressed), single compressed files and 7z, unpacked within ``Budget``.

Every member is checked before a byte is written: its name (no traversal, no absolute name,
no duplicate), its kind (a tar's links, devices and pipes refuse the archive; folders are
skipped) and whether it is encrypted. The bytes are then copied under numbered names.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import stat
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from fileproc_dagster.describe.containers.limits import Budget, Sink
from fileproc_dagster.errors import BadInput

COMPRESSED: dict[str, tuple[Any, tuple[str, ...]]] = {
    "application/gzip": (gzip.open, (".gz", ".tgz")),
    "application/x-gzip": (gzip.open, (".gz", ".tgz")),
    "application/x-bzip2": (bz2.open, (".bz2", ".tbz2")),
    "application/x-xz": (lzma.open, (".xz", ".txz")),
}


def unpack_zip(path: Path, budget: Budget) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
            for info in infos:
                if info.flag_bits & 0x1:
                    raise BadInput(f"encrypted member {info.filename!r}: archives with "
                                   f"encrypted members are not unpacked (no password)",
                                   verdict="unsupported")
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise BadInput(f"member {info.filename!r} is a symbolic link: links in "
                                   f"archives are refused")
            names = [budget.claim(i.filename, i.file_size) for i in infos]
            for name, info in zip(names, infos, strict=True):
                with archive.open(info) as source:
                    budget.write(name, source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError,
            OSError) as exc:
        raise BadInput(f"damaged zip archive: {exc}") from exc
    return "ZIP archive"


def unpack_tar(path: Path, budget: Budget, opener: Callable[..., IO[bytes]] | None) -> str:
    try:
        with (opener(path, "rb") if opener else open(path, "rb")) as raw, \
                tarfile.open(fileobj=raw, mode="r|*") as archive:
            # A stream: members come one by one, each checked before its bytes are read.
            for info in archive:
                if info.isdir():
                    continue
                if info.issym() or info.islnk():
                    raise BadInput(f"member {info.name!r} is a link (to {info.linkname!r}): "
                                   f"links in archives are refused")
                if not info.isfile():
                    what = "device" if info.ischr() or info.isblk() else "special file"
                    raise BadInput(f"member {info.name!r} is a {what}: archives holding "
                                   f"devices, pipes or other special files are refused")
                name = budget.claim(info.name, info.size)
                source = archive.extractfile(info)
                assert source is not None  # a regular file
                budget.write(name, source)
    except (tarfile.TarError, EOFError, OSError, lzma.LZMAError) as exc:
        raise BadInput(f"damaged tar archive: {exc}") from exc
    return "TAR archive"


def unpack_compressed(path: Path, mime: str, budget: Budget, name: str) -> str:
    """A compressed tar, or one compressed file (named as its header or the upload says)."""
    opener, suffixes = COMPRESSED[mime]
    try:
        with opener(path, "rb") as stream:
            head = stream.read(512)
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise BadInput(f"damaged compressed file: {exc}") from exc
    if len(head) == 512 and head[257:262] == b"ustar":
        return "compressed " + unpack_tar(path, budget, opener)
    inner = _gzip_name(path) if "gzip" in mime else ""
    if not inner:
        stem = Path(name).name
        inner = next((stem[:-len(s)] + (".tar" if s.startswith(".t") else "")
                      for s in suffixes if stem.lower().endswith(s)), "") or "content"
    claimed = budget.claim(inner)
    try:
        with opener(path, "rb") as stream:
            budget.write(claimed, stream)
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise BadInput(f"damaged compressed file: {exc}") from exc
    return "compressed file"


def _gzip_name(path: Path) -> str:
    """The original name a gzip header carries (FNAME), if any."""
    with open(path, "rb") as raw:
        header = raw.read(10)
        if len(header) < 10 or not header[3] & 0x08:
            return ""
        if header[3] & 0x04:  # FEXTRA comes first
            raw.read(int.from_bytes(raw.read(2), "little"))
        name = raw.read(1024).split(b"\0", 1)[0]
    return Path(name.decode("latin-1")).name


def unpack_7z(path: Path, budget: Budget) -> str:
    import py7zr
    from py7zr.io import Py7zIO, WriterFactory

    class Counted(Py7zIO):
        """A member's bytes, written to its numbered file through the budget as they come."""

        def __init__(self, sink: Sink, errors: list[BadInput]) -> None:
            self.sink, self.errors = sink, errors

        def write(self, s: bytes | bytearray) -> int:
            try:
                return self.sink.write(bytes(s))
            except BadInput as exc:  # py7zr may wrap what a writer raises: kept to re-raise
                self.errors.append(exc)
                raise

        def read(self, size: int | None = None) -> bytes:
            return b""

        def seek(self, offset: int, whence: int = 0) -> int:
            return 0

        def flush(self) -> None:
            pass

        def size(self) -> int:
            return self.sink.size

        def close(self) -> None:
            pass

    class Factory(WriterFactory):
        def __init__(self, sink: Sink) -> None:
            self.writer = Counted(sink, errors)

        def create(self, filename: str) -> Py7zIO:
            return self.writer

    errors: list[BadInput] = []
    try:
        with py7zr.SevenZipFile(path, mode="r") as archive:
            if archive.needs_password():
                raise BadInput("encrypted 7z archive: archives with encrypted members are "
                               "not unpacked (no password)", verdict="unsupported")
            infos = [i for i in archive.list() if not i.is_directory]
            for info in infos:
                if info.is_symlink:
                    raise BadInput(f"member {info.filename!r} is a symbolic link: links in "
                                   f"archives are refused")
            names = {i.filename: budget.claim(i.filename, i.uncompressed or 0) for i in infos}
            for filename, name in names.items():
                with budget.sink(name) as sink:
                    archive.reset()
                    archive.extract(targets=[filename], factory=Factory(sink))
                    sink.member()
    except BadInput:
        raise
    except Exception as exc:  # py7zr raises its own errors, and others, on damaged input
        if errors:
            raise errors[0] from exc
        raise BadInput(f"damaged 7z archive: {exc}") from exc
    return "7z archive"

