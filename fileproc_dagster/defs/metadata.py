"""What a file's partition page shows: a preview first, then the facts, links that open.

Dagster lists metadata in the order given and shows markdown under 1,000 characters inline,
so ``preview`` (picture, size, state, first heading, first lines, first rows of the first
table, record id) comes first and fits; the long
entries (details JSON) follow without the picture's location or the transcript, which the
preview and the record hold. Object locations are a path a person can copy (a browser page
may not open ``file://`` links) or, on S3, the ``s3://`` URI plus the AWS console's page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, unquote, urlparse

import dagster as dg

from fileproc_dagster.describe.preview import preview_markdown
from fileproc_dagster.pipeline import PREVIEW_IMAGE, VERSION
from fileproc_dagster.storage.records import Record
from fileproc_dagster.storage.structure import rows_of

SNIPPET = 500
# Details shown elsewhere: the picture (preview), its location, the transcript (preview, record).
_NOT_IN_DETAILS = {"thumbnail", PREVIEW_IMAGE, "segments", VERSION, "members"}
_FILES_TAG_CHARS = 200


def preview(record: Record) -> dg.MetadataValue:
    """The preview entry of a file, inline on its partition page."""
    details = record.details or {}
    return dg.MetadataValue.md(preview_markdown(
        record.name, record.type, str(record.state), record.uuid, record.text, details,
        details.get(PREVIEW_IMAGE), markdown=record.markdown, tables=rows_of(record.tables)))


def location(uri: str, endpoint_url: str | None = None) -> dict[str, dg.MetadataValue]:
    """A stored object's location: a copyable path or S3 URI, and a console link on AWS."""
    if uri.startswith("file://"):
        return {"location": dg.MetadataValue.path(unquote(urlparse(uri).path))}
    entries: dict[str, dg.MetadataValue] = {"location": dg.MetadataValue.path(uri)}
    if uri.startswith("s3://") and not endpoint_url:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        entries["console"] = dg.MetadataValue.url(
            f"https://s3.console.aws.amazon.com/s3/object/{bucket}?prefix={quote(key)}")
    return entries


def description(record: Record, reused: bool) -> dict[str, Any]:
    """The description step's entries for one file, the preview first."""
    text = record.text or ""
    details = {k: v for k, v in (record.details or {}).items() if k not in _NOT_IN_DETAILS}
    return {
        "preview": preview(record),
        "description": record.description or "",
        "words": dg.MetadataValue.int(len(text.split())),
        "tables": dg.MetadataValue.int(len(record.tables or [])),
        "record_id": record.uuid,
        "reused": dg.MetadataValue.bool(reused),
        "described_with": str((record.details or {}).get(VERSION, "")),
        "text": dg.MetadataValue.md(f"```\n{text[:SNIPPET]}\n```" if text else "_no text_"),
        "details": dg.MetadataValue.json(details),
        **family(record),
    }


def _partition_link(name: str, key: str) -> str:
    return f"[{name}](/assets/processed_file?partition={quote(key)})"


def family(record: Record) -> dict[str, dg.MetadataValue]:
    """Links to the archive or mail a file came out of, and to the members it holds."""
    entries: dict[str, dg.MetadataValue] = {}
    if record.parent_key:
        entries["parent"] = dg.MetadataValue.md(_partition_link(record.parent_key,
                                                                record.parent_key))
    members = (record.details or {}).get("members") or []
    if members:
        entries["members"] = dg.MetadataValue.md("\n".join(
            f"- {_partition_link(m['name'], m['key'])}" for m in members if m.get("key")))
    return entries


def files_tag(names: Sequence[str], limit: int = _FILES_TAG_CHARS) -> str:
    """The files of a run for its tag: all names, or the count and as many as fit."""
    shown = ", ".join(names)
    if len(shown) <= limit:
        return shown
    kept: list[str] = []
    for name in names:
        if len(", ".join([*kept, name])) > limit - 30:
            break
        kept.append(name)
    return f"{len(names)} files: {', '.join(kept)}, … and {len(names) - len(kept)} more"

