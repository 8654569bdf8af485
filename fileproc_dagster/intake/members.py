"""The door for members of archives and attachments of mails: each becomes an upload.

A container's description unpacks it (``describe/containers``) and hands every member in
here: its bytes go into the object store under their content key first, then the member is
registered as an upload of the container (``Uploads.receive_member``), content-addressed and
deduplicated like any upload. Both are idempotent, the registration by (container, member
name): a description killed half-way and run again registers nothing twice. The members'
partitions and runs are then requested like any upload's (the sensor, or ``fileproc
process`` for its own files).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from fileproc_dagster.describe.containers import limits_of, unpack
from fileproc_dagster.describe.model import ExtractOptions
from fileproc_dagster.errors import BadInput
from fileproc_dagster.hooks import Hooks, Point
from fileproc_dagster.intake.names import partition_key
from fileproc_dagster.storage.objects import ObjectStore
from fileproc_dagster.storage.records import Record, Records

log = logging.getLogger(__name__)


def register_members(records: Records, objects: ObjectStore, hooks: Hooks, container: Record,
                     path: Path, options: ExtractOptions) -> list[dict[str, Any]]:
    """Register every member of the container at ``path`` as an upload of its own.

    Returns the members as the container's record lists them: name, size, SHA-256, the
    member's partition key and whether its content was known already.
    """
    limits = limits_of(options)
    depth = 1 + len(records.uploads.lineage(container.key))
    if depth > limits.max_depth:
        raise BadInput(f"archive nested {depth} levels deep (the limit is {limits.max_depth}): "
                       f"not unpacked")
    origin = records.uploads.origin(container.key)
    listed = []
    with tempfile.TemporaryDirectory(prefix="fileproc-unpack-") as tmp:
        unpacked = unpack(path, container.mime or "", Path(tmp), limits, container.name)
        for member in unpacked.members:
            if member.sha256 == container.sha256:
                raise BadInput(f"member {member.name!r} is the archive itself (a quine): "
                               f"not unpacked")
        for member in unpacked.members:
            if not objects.exists(member.sha256):
                objects.put_file(member.path, member.sha256)
            received = records.uploads.receive_member(
                container.key, partition_key(member.name, member.sha256), member.name,
                member.sha256, member.size, origin)
            hooks.at(Point.AFTER_MEMBER, container.key, member.name)
            listed.append({"name": member.name, "size": member.size, "sha256": member.sha256,
                           "key": received.key, "duplicate": received.duplicate})
    log.info("%s: %d member(s) registered", container.key, len(listed))
    return listed
