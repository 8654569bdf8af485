"""Records: upserts keyed by partition, a forward-only state machine, the ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from fileproc_dagster.storage.records import RecordStore

SHA = "ab" * 32


@pytest.fixture()
def records(tmp_path: Path) -> RecordStore:
    return RecordStore(f"sqlite:///{tmp_path / 'records.db'}")


def test_receive_is_idempotent_and_maps_duplicates(records: RecordStore) -> None:
    first = records.receive("memo-abababababab", "memo.txt", SHA, 5, 1)
    again = records.receive("memo-abababababab", "memo.txt", SHA, 5, 1)
    assert first == again and not first.duplicate
    copy = records.receive("copy-abababababab", "copy.txt", SHA, 5, 2)
    assert copy.key == "memo-abababababab" and copy.duplicate
    assert len(records.records()) == 1
    assert [u.name for u in records.pending_uploads(first.key)] == ["memo.txt", "copy.txt"]
    assert records.pending_upload_names() == {"memo.txt", "copy.txt"}


def test_state_only_moves_forward(records: RecordStore) -> None:
    key = records.receive("k-abababababab", "k.txt", SHA, 5, 1).key
    records.advance(key, "stored", type="document", location="file:///x")
    records.advance(key, "described", description="d", text="t", details={"pages": 1})
    records.advance(key, "done")
    late_retry = records.advance(key, "stored", type="image", location="file:///y")
    assert late_retry.state == "done" and late_retry.type == "document"
    records.fail(key, "too late")  # a done record is never failed afterwards
    record = records.get(key)
    assert record is not None and record.state == "done" and record.error is None
    assert record.details == {"pages": 1}


def test_failures_keep_a_reason_and_can_be_reopened(records: RecordStore) -> None:
    key = records.receive("k-abababababab", "k.txt", SHA, 5, 1).key
    records.fail(key, "empty file", state="quarantined")
    record = records.get(key)
    assert record is not None and (record.state, record.error) == ("quarantined", "empty file")
    records.reopen(key)
    record = records.get(key)
    assert record is not None and (record.state, record.error) == ("received", None)
    with pytest.raises(ValueError):
        records.fail(key, "x", state="done")


def test_notification_ledger(records: RecordStore) -> None:
    key = records.receive("k-abababababab", "k.txt", SHA, 5, 1).key
    assert records.claim_notification(key, "processed", "m") == "new"
    assert records.claim_notification(key, "processed", "m") == "resumed"
    records.mark_notified(key, "processed")
    assert records.claim_notification(key, "processed", "m") is None
