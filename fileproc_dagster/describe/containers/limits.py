"""The bounds every unpacking keeps, and the checks of a member's name and kind.

An archive or a mail is opened into members written to a private folder under numbered names
(a member's own name never reaches a path join). What is written is counted as it is
written: the total, the ratio of the total to the container's size, and the members. Every
refusal is a ``BadInput`` whose reason says which bound was met; nothing is registered from
a container that breaks one (see ``unpack``).
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from fileproc_dagster.errors import BadInput, size_text

CHUNK = 1 << 20
# A ratio is only a bomb's sign over this many bytes: small text compresses very well.
RATIO_FLOOR_BYTES = 10 << 20


@dataclass(frozen=True)
class Limits:
    """How far a container is opened: ``max_bytes`` unpacked in all, at most ``max_ratio``
    times the container's size (over 10 MiB), ``max_members`` members, and containers nested
    at most ``max_depth`` deep (the uploaded file is depth 1)."""

    max_bytes: int = 1 << 30
    max_ratio: float = 100.0
    max_members: int = 1000
    max_depth: int = 3


@dataclass(frozen=True)
class Member:
    """One member or attachment, unpacked: its name in the container and its bytes' file."""

    name: str
    path: Path
    size: int
    sha256: str


def member_name(raw: str) -> str:
    """A member's name made plain (``./a//b`` -> ``a/b``), or BadInput for a name that
    climbs out (``../x``), is absolute (``/etc/x``, ``C:\\x``) or holds control characters."""
    name = raw.replace("\\", "/")
    if not name.strip("/") or "\0" in name or any(ord(c) < 32 for c in name):
        raise BadInput(f"member with an unusable name {raw!r}: the archive is not unpacked")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise BadInput(f"member with an absolute name {raw!r} (path traversal): the archive "
                       f"is not unpacked")
    if ".." in name.split("/"):
        raise BadInput(f"member name {raw!r} climbs out of the archive (path traversal): "
                       f"the archive is not unpacked")
    return posixpath.normpath(name).lstrip("./") or name


class Budget:
    """Counts what a container's members unpack to and refuses past the limits."""

    def __init__(self, limits: Limits, container_size: int, into: Path) -> None:
        self.limits = limits
        self.container_size = max(container_size, 1)
        self.into = into
        self.total = 0
        self.declared = 0
        self.members: list[Member] = []
        self.names: set[str] = set()

    def claim(self, raw_name: str, declared_size: int = 0) -> str:
        """Admit one more member by its name (and the size its header declares)."""
        name = member_name(raw_name)
        if name in self.names:
            raise BadInput(f"two members are named {name!r}: an archive with duplicate names "
                           f"is not unpacked (which one is meant?)")
        self.names.add(name)
        if len(self.names) > self.limits.max_members:
            raise BadInput(f"more than {self.limits.max_members} members: the archive is not "
                           f"unpacked")
        self.declared += max(declared_size, 0)
        self._count(self.declared, "declares")
        return name

    def write(self, name: str, source: IO[bytes]) -> Member:
        """Copy one member's bytes, counted as they come (headers may lie)."""
        sink = self.sink(name)
        with sink:
            while chunk := source.read(CHUNK):
                sink.write(chunk)
        return sink.member()

    def sink(self, name: str) -> Sink:
        """Where one member's bytes go, for readers that push them (7z)."""
        return Sink(self, name, self.into / f"{len(self.members):06d}")

    def _count(self, total: int, what: str) -> None:
        if total > self.limits.max_bytes:
            raise BadInput(f"the archive {what} more than {size_text(self.limits.max_bytes)}: "
                           f"not unpacked, a decompression bomb?")
        if (total > RATIO_FLOOR_BYTES
                and total > self.limits.max_ratio * self.container_size):
            raise BadInput(f"the archive {what} over {self.limits.max_ratio:g} times its size "
                           f"({size_text(self.container_size)} to over {size_text(total)}): "
                           f"not unpacked, a decompression bomb")


class Sink:
    """One member's numbered file, counting each chunk against the budget before writing it."""

    def __init__(self, budget: Budget, name: str, path: Path) -> None:
        self.budget, self.name, self.path = budget, name, path
        self.size = 0
        self.digest = hashlib.sha256()
        self.file = open(path, "wb")  # noqa: SIM115 - closed by __exit__ or member()

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()

    def write(self, chunk: bytes) -> int:
        self.budget._count(self.budget.total + self.size + len(chunk), "unpacks to")
        self.size += len(chunk)
        self.digest.update(chunk)
        self.file.write(chunk)
        return len(chunk)

    def member(self) -> Member:
        self.file.close()
        self.budget.total += self.size
        member = Member(self.name, self.path, self.size, self.digest.hexdigest())
        self.budget.members.append(member)
        return member
