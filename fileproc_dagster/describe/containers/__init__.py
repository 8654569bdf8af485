"""Archives and mails, opened into their members: pure functions, free of Dagster.

``unpack`` writes every member of a ZIP, TAR (plain or compressed), gzip/bzip2/xz file or 7z
archive, or every attachment of a mail, into a folder of the caller's, under numbered names,
and returns them with their names in the container, sizes and SHA-256. Every bound of
``Limits`` is kept while unpacking (size, ratio, member count) and every member is checked
before a byte of it is written (traversal, absolute and duplicate names, links, devices,
encryption): a container breaking one is a ``BadInput`` and nothing of it is returned.

The readers of the format registry (``describe_archive``, ``describe_mail``) list what a
container holds; registering the members as uploads is the pipeline's (``intake/members.py``).

Example::

    import tempfile
    from pathlib import Path
    from fileproc_dagster.describe.containers import unpack

    with tempfile.TemporaryDirectory() as tmp:
        unpacked = unpack(Path("bundle.zip"), "application/zip", Path(tmp))
        [m.name for m in unpacked.members]  # ['scans/page1.png', 'notes.txt']
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fileproc_dagster.describe.containers import archives
from fileproc_dagster.describe.containers.limits import Budget, Limits, Member
from fileproc_dagster.describe.containers.mail import Mail, read_eml, read_msg
from fileproc_dagster.describe.model import Description, ExtractOptions
from fileproc_dagster.errors import BadInput, size_text

__all__ = ["Limits", "Member", "Unpacked", "limits_of", "unpack"]

_ZIP = ("application/zip", "application/x-zip-compressed", "application/x-zip")
MAIL = ("message/rfc822", "application/vnd.ms-outlook")


@dataclass(frozen=True)
class Unpacked:
    """A container's members (written to the caller's folder) and what it is."""

    what: str
    members: list[Member]
    mail: Mail | None = None

    def listing(self) -> list[dict[str, Any]]:
        return [{"name": m.name, "size": m.size, "sha256": m.sha256} for m in self.members]


def limits_of(options: ExtractOptions) -> Limits:
    return Limits(max_bytes=options.archive_max_bytes, max_ratio=options.archive_max_ratio,
                  max_members=options.archive_max_members, max_depth=options.archive_max_depth)


def unpack(path: Path, mime: str, into: Path, limits: Limits | None = None,
           name: str = "") -> Unpacked:
    """Unpack the container at ``path`` into the folder ``into`` within ``limits``.

    ``name`` is the container's upload name, which names a compressed file's content when
    its header does not.
    """
    budget = Budget(limits or Limits(), path.stat().st_size, into)
    mime = mime.split(";")[0].strip().lower()
    if mime in _ZIP:
        what = archives.unpack_zip(path, budget)
    elif mime == "application/x-tar":
        what = archives.unpack_tar(path, budget, None)
    elif mime == "application/x-7z-compressed":
        what = archives.unpack_7z(path, budget)
    elif mime in archives.COMPRESSED:
        what = archives.unpack_compressed(path, mime, budget, name or path.name)
    elif mime == "message/rfc822":
        return Unpacked("e-mail", budget.members, read_eml(path, budget))
    elif mime == "application/vnd.ms-outlook":
        return Unpacked("Outlook message", budget.members, read_msg(path, budget))
    else:
        raise BadInput(f"{mime} is not an archive or a mail", verdict="unsupported")
    return Unpacked(what, budget.members)


def describe_archive(path: Path, mime: str, options: ExtractOptions) -> Description:
    """An archive's members: names, sizes and digests (its text lists the names)."""
    with tempfile.TemporaryDirectory(prefix="fileproc-unpack-") as tmp:
        unpacked = unpack(path, mime, Path(tmp), limits_of(options))
    total = sum(m.size for m in unpacked.members)
    count = len(unpacked.members)
    return Description(
        description=f"{unpacked.what}, {count} member{'' if count == 1 else 's'} "
                    f"({size_text(total)} unpacked)",
        text="\n".join(m.name for m in unpacked.members),
        details={"members": unpacked.listing(), "unpacked_bytes": total})


def describe_mail(path: Path, mime: str, options: ExtractOptions) -> Description:
    """A mail's headers (From, To, Subject, Date), body text and attachments."""
    with tempfile.TemporaryDirectory(prefix="fileproc-unpack-") as tmp:
        unpacked = unpack(path, mime, Path(tmp), limits_of(options))
    mail = unpacked.mail
    assert mail is not None
    count = len(unpacked.members)
    subject = mail.headers.get("subject", "(no subject)")
    sender = mail.headers.get("from", "unknown sender")
    return Description(
        description=f"{unpacked.what} {subject!r} from {sender}, "
                    f"{count} attachment{'' if count == 1 else 's'}",
        text=mail.text(),
        details={"headers": mail.headers, "properties": mail.properties(),
                 "html_body": mail.html, "members": unpacked.listing(),
                 "words": len(mail.body.split())})
