"""Records: upserts keyed by partition, a forward-only state machine, the ledger, times in
UTC; each test on SQLite and on PostgreSQL (the ``records`` fixture)."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone

import pytest

from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.states import State

SHA = "ab" * 32


def test_receive_is_idempotent_and_maps_duplicates(records: Records) -> None:
    first = records.uploads.receive("memo-abababababab", "memo.txt", SHA, 5, 1)
    again = records.uploads.receive("memo-abababababab", "memo.txt", SHA, 5, 1)
    assert first == again and not first.duplicate
    copy = records.uploads.receive("copy-abababababab", "copy.txt", SHA, 5, 2)
    assert copy.key == "memo-abababababab" and copy.duplicate
    assert len(records.files.all()) == 1
    assert [u.name for u in records.uploads.pending(first.key)] == ["memo.txt", "copy.txt"]
    assert records.uploads.pending_names() == {"memo.txt", "copy.txt"}


def test_state_only_moves_forward(records: Records) -> None:
    key = records.uploads.receive("k-abababababab", "k.txt", SHA, 5, 1).key
    records.files.advance(key, "stored", type="document", location="file:///x")
    records.files.advance(key, "described", description="d", text="t", details={"pages": 1})
    records.files.advance(key, "done")
    late_retry = records.files.advance(key, "stored", type="image", location="file:///y")
    assert late_retry.state == "done" and late_retry.type == "document"
    records.files.fail(key, "too late")  # a done record is never failed afterwards
    record = records.files.get(key)
    assert record is not None and record.state == "done" and record.error is None
    assert record.details == {"pages": 1}


def test_failures_keep_a_reason_and_can_be_reopened(records: Records) -> None:
    key = records.uploads.receive("k-abababababab", "k.txt", SHA, 5, 1).key
    records.files.fail(key, "empty file", state="quarantined")
    record = records.files.get(key)
    assert record is not None and (record.state, record.error) == ("quarantined", "empty file")
    records.files.reopen(key)
    record = records.files.get(key)
    assert record is not None and (record.state, record.error) == ("received", None)
    with pytest.raises(ValueError):
        records.files.fail(key, "x", state="done")


def test_notification_ledger(records: Records) -> None:
    key = records.uploads.receive("k-abababababab", "k.txt", SHA, 5, 1).key
    assert records.ledger.claim(key, "processed", "m") == "new"
    assert records.ledger.claim(key, "processed", "m") == "resumed"
    records.ledger.mark_sent(key, "processed")
    assert records.ledger.claim(key, "processed", "m") is None


def test_times_are_utc_and_compare_alike_however_given(records: Records) -> None:
    key = records.uploads.receive("k-abababababab", "k.txt", SHA, 5, 1).key
    record = records.files.get(key)
    assert record is not None and record.updated_at is not None
    stamp = record.updated_at
    assert stamp.tzinfo is not None and stamp.utcoffset() == timedelta(0)
    assert record.created_at == stamp and [r.updated_at for r in records.files.all()] == [stamp]
    records.ledger.claim(key, "processed", "m")
    just_after = stamp + timedelta(microseconds=1)
    # The same moments as UTC, as another zone's wall time, and naive (taken as UTC).
    for shift in (UTC, timezone(timedelta(hours=-7, minutes=-30)), None):
        before, after = ((m.astimezone(shift) if shift else m.replace(tzinfo=None))
                         for m in (stamp, just_after))
        assert records.files.stalled(before) == []
        assert records.files.stalled(after) == [(key, stamp)]
        assert records.ledger.unsent(before) == []
        assert records.ledger.unsent(after) == [(key, "processed", "m")]
    records.files.advance(key, State.STORED, type="document", location="file:///x")
    assert records.files.stalled(just_after) == []  # touched since


def test_text_with_nul_characters_is_stored_without_them(records: Records) -> None:
    key = records.uploads.receive("k-abababababab", "k.pdf", SHA, 5, 1).key
    records.files.advance(key, "stored", type="document", location="file:///x")
    record = records.files.advance(key, "described", description="PDF\x00", text="a\x00b")
    assert (record.description, record.text) == ("PDF", "ab")


def test_find_filters_by_state_type_and_time(records: Records) -> None:
    from fileproc_dagster.storage.files import now

    keys = [records.uploads.receive(f"f{i}-abababababab", f"f{i}.txt", f"{i:x}" * 64, 5, i).key
            for i in range(1, 4)]
    records.files.advance(keys[0], "stored", type="document", location="file:///a")
    records.files.advance(keys[1], "stored", type="audio", location="file:///b")
    records.files.fail(keys[2], "empty file", state="quarantined")
    assert [r.key for r in records.files.find()] == keys[::-1]  # newest first
    assert [r.key for r in records.files.find(states=[State.QUARANTINED])] == [keys[2]]
    assert [r.key for r in records.files.find(types=["audio", "document"])] == keys[1::-1]
    assert [r.key for r in records.files.find(states=[State.STORED], types=["audio"])] == \
        [keys[1]]
    assert len(records.files.find(limit=2)) == 2
    assert records.files.find(since=now() + timedelta(minutes=1)) == []
    assert len(records.files.find(since=now() - timedelta(minutes=1))) == 3
    record = records.files.get(keys[0])
    assert record is not None and records.files.by_uuid(record.uuid) == record
    assert records.files.by_uuid("no-such-uuid") is None
    assert records.files.states_since(now() - timedelta(hours=1)) == {
        State.STORED: 2, State.QUARANTINED: 1}
    assert records.files.states_since(now() + timedelta(minutes=1)) == {}
