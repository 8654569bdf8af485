"""What every office reader shares: a zip package opened with its limits checked, the
document properties, Markdown tables and the :class:`Description` they end in.

OOXML (.docx, .xlsx, .pptx) and OpenDocument files are zips of XML parts. Before any library
parses one, :func:`open_package` refuses what could exhaust the worker: too many members,
an unpacked size or ratio of a decompression bomb, and XML parts declaring a DTD or entities
(neither format uses them; they are how entity-expansion attacks start).

Example::

    from fileproc_dagster.describe.office.package import open_package, ooxml_properties

    with open_package(Path("report.docx"), "Word document") as archive:
        ooxml_properties(archive)  # {'title': 'Annual report', 'author': 'J. Smith', ...}
"""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from defusedxml import ElementTree

from fileproc_dagster.describe.model import Description, Table, snippet
from fileproc_dagster.errors import BadInput

log = logging.getLogger(__name__)

MAX_MEMBERS = 10_000
MAX_UNPACKED = 256 * 1024 * 1024
MAX_RATIO = 200  # unpacked/packed of a large member; office XML compresses about 10:1
_LARGE_MEMBER = 10 * 1024 * 1024
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_CHUNK = 1 << 20
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_CORE = {"title": "{http://purl.org/dc/elements/1.1/}title",
         "author": "{http://purl.org/dc/elements/1.1/}creator",
         "subject": "{http://purl.org/dc/elements/1.1/}subject",
         "created": "{http://purl.org/dc/terms/}created",
         "modified": "{http://purl.org/dc/terms/}modified",
         "language": "{http://purl.org/dc/elements/1.1/}language"}
_APP = "{http://schemas.openxmlformats.org/officeDocument/2006/extended-properties}Application"


@contextmanager
def open_package(path: Path, label: str) -> Iterator[zipfile.ZipFile]:
    """Open an office zip package whose sizes and XML parts are safe to hand to a parser."""
    if is_ole(path):
        # An encrypted OOXML file is an OLE container holding the encrypted package.
        raise encrypted(label) if ole_encrypted(path) else BadInput(
            f"not a {label}: an older binary Office file under the newer format's type")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError)):
            raise
        raise BadInput(f"not a readable {label} (damaged or truncated): {exc}") from exc
    with archive:
        check_limits(archive, label)
        yield archive


def is_ole(path: Path) -> bool:
    """Whether the file is an OLE compound file (legacy Office, or encrypted OOXML)."""
    with path.open("rb") as handle:
        return handle.read(8) == _OLE_MAGIC


def ole_encrypted(path: Path) -> bool:
    """Whether an OLE compound file holds password-protected Office content."""
    import msoffcrypto

    try:
        with path.open("rb") as handle:
            return bool(msoffcrypto.OfficeFile(handle).is_encrypted())
    except Exception:  # msoffcrypto raises its own and olefile's errors for damaged files
        return False


def encrypted(label: str) -> BadInput:
    return BadInput(f"encrypted {label}: a password is needed to read it",
                    verdict="unsupported")


def check_limits(archive: zipfile.ZipFile, label: str) -> None:
    """Refuse decompression bombs and XML parts with DTDs before a library parses them."""
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise BadInput(f"{label} package has {len(members)} parts, more than the limit of "
                       f"{MAX_MEMBERS}")
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_UNPACKED:
        raise BadInput(f"{label} unpacks to more than {MAX_UNPACKED // 2**20} MiB "
                       "(decompression bomb?)")
    for member in members:
        if (member.file_size > _LARGE_MEMBER
                and member.file_size > MAX_RATIO * max(member.compress_size, 1)):
            raise BadInput(f"{label} part {member.filename!r} unpacks {member.file_size} bytes "
                           f"from {member.compress_size} (decompression bomb?)")
    for member in members:
        if member.filename.endswith((".xml", ".rels")):
            _refuse_dtd(archive, member, label)


def _refuse_dtd(archive: zipfile.ZipFile, member: zipfile.ZipInfo, label: str) -> None:
    try:
        with archive.open(member) as part:
            head = part.read(4)
            wide = head[:2] in (b"\xff\xfe", b"\xfe\xff") or head[1:2] == b"\0"
            tail = b""
            chunk = head + part.read(_CHUNK)
            while chunk:
                text = chunk.decode("utf-16", "ignore").encode() if wide else chunk
                if _DTD.search(tail + text):
                    raise BadInput(f"{label} part {member.filename!r} declares a DTD or entities "
                                   "(entity expansion attack?)")
                tail = text[-16:]
                chunk = part.read(_CHUNK)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise BadInput(f"not a readable {label} (damaged part {member.filename!r}): "
                       f"{exc}") from exc


def read_xml(archive: zipfile.ZipFile, name: str, label: str) -> Any:
    """Parse one XML part (entities refused), or None when the package has no such part."""
    try:
        data = archive.read(name)
    except KeyError:
        return None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise BadInput(f"not a readable {label} (damaged part {name!r}): {exc}") from exc
    try:
        return ElementTree.fromstring(data)
    except Exception as exc:  # ParseError, or defusedxml's refusal of a DTD or entity
        raise BadInput(f"not a readable {label} (bad XML in {name!r}): {exc}") from exc


def ooxml_properties(archive: zipfile.ZipFile, label: str) -> dict[str, str]:
    """Title, author, subject, dates, language and producer of an OOXML package."""
    found: dict[str, str] = {}
    core = read_xml(archive, "docProps/core.xml", label)
    if core is not None:
        for key, tag in _CORE.items():
            element = core.find(tag)
            if element is not None and (element.text or "").strip():
                found[key] = element.text.strip()
    app = read_xml(archive, "docProps/app.xml", label)
    if app is not None:
        element = app.find(_APP)
        if element is not None and (element.text or "").strip():
            found["producer"] = element.text.strip()
    return found


def markdown_table(rows: list[list[str]]) -> str:
    """Rows of cell texts as a Markdown table, the first row the header."""
    if not rows:
        return ""
    width = max(len(row) for row in rows)

    def line(cells: list[str]) -> str:
        padded = [_cell(c) for c in cells] + [""] * (width - len(cells))
        return "| " + " | ".join(padded) + " |"

    return "\n".join([line(rows[0]), "|" + " --- |" * width, *(line(r) for r in rows[1:])])


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def table_text(rows: list[list[str]]) -> str:
    """A table as searchable text: one line per row, cells apart by tabs."""
    return "\n".join("\t".join(c for c in row if c) for row in rows if any(row))


def summarise(kind: str, mime: str, text: str, markdown: str, *, counts: dict[str, int],
              tables: tuple[Table, ...] = (), properties: dict[str, str] | None = None,
              **extra: Any) -> Description:
    """The Description of an office file: a one-line summary and the facts found."""
    words = len(text.split())
    details: dict[str, Any] = {"kind": kind, "mime": mime, **counts, "source": "text",
                               "words": words, "chars": len(text), "tables": len(tables), **extra}
    if properties:
        details["properties"] = properties
    units = ", ".join(f"{n} {unit[:-1] if n == 1 else unit}" for unit, n in counts.items())
    summary = f"{kind}, {units}, {words} words" if units else f"{kind}, {words} words"
    description = f"{summary}: {snippet(text)}" if text.strip() else f"{summary}: no text found"
    log.info("%s", description)
    return Description(description=description, text=text, details=details,
                       markdown=markdown, tables=tables)

