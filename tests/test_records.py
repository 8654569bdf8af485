"""Records: upserts keyed by partition, a forward-only state machine, the ledger, times in
UTC; each test on SQLite and on PostgreSQL (the ``records`` fixture)."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone

import pytest

from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.states import State

SHA = "ab" * 32


def _received(records: Records, key: str = "k-abababababab", name: str = "k.txt") -> str:
    """A registered upload with its record inserted in ``received``, as the tests start."""
    key = records.uploads.receive(key, name, SHA, 5, 1).key
    records.files.insert(key, State.RECEIVED)
    return key


def test_receive_is_idempotent_and_maps_duplicates(records: Records) -> None:
    first = records.uploads.receive("memo-abababababab", "memo.txt", SHA, 5, 1)
    again = records.uploads.receive("memo-abababababab", "memo.txt", SHA, 5, 1)
    assert first == again and not first.duplicate
    copy = records.uploads.receive("copy-abababababab", "copy.txt", SHA, 5, 2)
    assert copy.key == "memo-abababababab" and copy.duplicate
    content = records.uploads.content(first.key)
    assert content is not None and (content.name, content.sha256) == ("memo.txt", SHA)
    # The intake registers; the record step inserts the one record of the content.
    assert records.files.all() == [] and records.files.counts() == {(State.RECEIVED, None): 1}
    inserted = records.files.insert(first.key, State.STORED, type="document", location="x")
    assert records.files.insert(first.key, State.STORED) == inserted  # a retried step
    assert records.files.all() == [inserted] and (inserted.name, inserted.size) == ("memo.txt", 5)
    assert inserted.created_at == content.received_at
    with pytest.raises(KeyError):
        records.files.insert("never-abababababab", State.STORED)
    assert [u.name for u in records.uploads.pending(first.key)] == ["memo.txt", "copy.txt"]
    assert records.uploads.pending_names() == {"memo.txt", "copy.txt"}


def test_state_only_moves_forward(records: Records) -> None:
    key = _received(records)
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
    key = records.uploads.receive("k-abababababab", "k.txt", SHA, 5, 1).key  # not recorded yet
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
    # Held by the attempt sending it: another attempt is told so and takes nothing.
    assert records.ledger.claim(key, "processed", "m") == "held"
    records.ledger.release(key, "processed")  # that attempt gave up
    assert records.ledger.claim(key, "processed", "m", hold_s=0) == "resumed"
    # An attempt that died: its hold lapses and the next attempt resumes.
    assert records.ledger.claim(key, "processed", "m") == "resumed"
    records.ledger.mark_sent(key, "processed")
    assert records.ledger.claim(key, "processed", "m") is None


def test_times_are_utc_and_compare_alike_however_given(records: Records) -> None:
    key = _received(records)
    record, content = records.files.get(key), records.uploads.content(key)
    assert record is not None and record.updated_at is not None and content is not None
    stamp = record.updated_at
    assert stamp.tzinfo is not None and stamp.utcoffset() == timedelta(0)
    assert record.created_at == content.received_at <= stamp
    assert [r.updated_at for r in records.files.all()] == [stamp]
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
    key = _received(records, name="k.pdf")
    records.files.advance(key, "stored", type="document", location="file:///x")
    record = records.files.advance(key, "described", description="PDF\x00", text="a\x00b")
    assert (record.description, record.text) == ("PDF", "ab")


def test_a_content_never_recorded_is_stalled_from_its_registration(records: Records) -> None:
    # A run that died before the record step leaves only the intake's registration behind.
    key = records.uploads.receive("k-abababababab", "k.txt", SHA, 5, 1).key
    content = records.uploads.content(key)
    assert content is not None and records.files.get(key) is None
    assert records.files.stalled(content.received_at) == []
    assert records.files.stalled(content.received_at + timedelta(seconds=1)) == [
        (key, content.received_at)]
    recorded = records.files.insert(key, State.STORED, type="document", location="file:///x")
    assert recorded.updated_at is not None
    assert records.files.stalled(recorded.updated_at) == []  # idle since its insert only
def test_records_filtered_by_state_type_and_time(records: Records) -> None:
    from fileproc_dagster.storage.files import now

    keys = [records.uploads.receive(f"f{i}-abababababab", f"f{i}.txt", f"{i:x}" * 64, 5, i).key
            for i in range(1, 4)]
    records.files.insert(keys[0], State.STORED, type="document", location="file:///a")
    records.files.insert(keys[1], State.STORED, type="audio", location="file:///b")
    records.files.fail(keys[2], "empty file", state=State.QUARANTINED)
    assert [r.key for r in records.files.all()] == keys[::-1]  # newest first
    assert [r.key for r in records.files.all(states=[State.QUARANTINED])] == [keys[2]]
    assert [r.key for r in records.files.all(types=["audio", "document"])] == keys[1::-1]
    assert [r.key for r in records.files.all(states=[State.STORED], types=["audio"])] == \
        [keys[1]]
    assert len(records.files.all(2)) == 2
    assert records.files.all(changed_since=now() + timedelta(minutes=1)) == []
    assert len(records.files.all(changed_since=now() - timedelta(minutes=1))) == 3
    record = records.files.get(keys[0])
    assert record is not None and records.files.lookup(record.uuid) == record
    assert records.files.lookup(keys[0]) == record
    assert records.files.lookup("no-such-uuid") is None
    assert records.files.states_since(now() - timedelta(hours=1)) == {
        State.STORED: 2, State.QUARANTINED: 1}
    assert records.files.states_since(now() + timedelta(minutes=1)) == {}


def test_a_notice_about_a_file_not_recorded_yet_is_owed_from_its_registration(
        records: Records) -> None:
    # A run that failed before its record step is reported under its first file's key.
    key = records.uploads.receive("k-abababababab", "k.txt", SHA, 5, 1).key
    content = records.uploads.content(key)
    assert content is not None and records.files.get(key) is None
    records.ledger.claim(key, "run-failed:r1", "Run r1 failed")
    assert records.ledger.unsent(content.received_at) == []
    assert records.ledger.unsent(content.received_at + timedelta(seconds=1)) == [
        (key, "run-failed:r1", "Run r1 failed")]
