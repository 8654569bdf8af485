"""The per-file asset checks: each file gets its own result, on its own partition.

``has_text`` warns when a document or a recording yields no text; ``object_matches_record``
reads the stored object back and fails when its SHA-256 is not the one its record holds.
Both are partitioned checks (Dagster 1.13), reported one partition at a time, also in a run
over a batch of files (see ``_dagster_compat.report_partition_check``).
"""

from __future__ import annotations

import dagster as dg

from fileproc_dagster.describe.formats import text_expected
from fileproc_dagster.storage.objects import ObjectStore, stored_digest
from fileproc_dagster.storage.records import Record

from ._dagster_compat import is_check_selected, partition_check_spec, report_partition_check
from .partitions import uploads_partitions

HAS_TEXT = partition_check_spec(
    "has_text", asset="file_description", partitions_def=uploads_partitions,
    description="Documents and recordings yield some text (a warning: maybe a blank page or "
                "silence).")
OBJECT_MATCHES_RECORD = partition_check_spec(
    "object_matches_record", asset="file_record", partitions_def=uploads_partitions,
    description="The stored object's SHA-256, read back, equals the one in the file's record.")


def check_has_text(context: dg.AssetExecutionContext, record: Record) -> None:
    """Report ``has_text`` for one described file."""
    if not is_check_selected(context, HAS_TEXT):
        return
    words = len((record.text or "").split())
    passed = words > 0 or not text_expected(record.type, record.mime)
    said = (f"{words} words" if words else
            f"text is optional in this {record.type}" if passed else
            f"no text in this {record.type}")
    report_partition_check(context, HAS_TEXT, record.key, passed, said,
                           metadata={"words": words, "type": record.type or ""})


def check_object(context: dg.AssetExecutionContext, store: ObjectStore, record: Record) -> None:
    """Report ``object_matches_record`` for one recorded file."""
    if not is_check_selected(context, OBJECT_MATCHES_RECORD):
        return
    try:
        actual = stored_digest(store, record.sha256)
    except FileNotFoundError:
        actual = ""
    passed = actual == record.sha256
    said = ("the stored bytes have the record's SHA-256" if passed else
            "no object is stored under the record's key" if not actual else
            f"the stored bytes have SHA-256 {actual}, the record {record.sha256}")
    report_partition_check(context, OBJECT_MATCHES_RECORD, record.key, passed, said,
                           metadata={"record_sha256": record.sha256, "stored_sha256": actual},
                           severity=dg.AssetCheckSeverity.ERROR)
