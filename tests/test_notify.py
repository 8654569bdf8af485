"""Notifications: once per file and event, even when an attempt died half-way."""

from __future__ import annotations

import json
from pathlib import Path

from fileproc_dagster.notify import Notification, Notifier
from fileproc_dagster.storage.records import Records


def test_outbox_gets_each_notification_once(tmp_path: Path) -> None:
    records = Records(f"sqlite:///{tmp_path / 'records.db'}")
    key = records.uploads.receive("k-abababababab", "k.txt", "ab" * 32, 5, 1).key
    notifier = Notifier(tmp_path / "outbox.jsonl")
    note = Notification(key, "processed", "Processed k.txt (document)")
    assert notifier.send_once(note, records)
    assert not notifier.send_once(note, records)
    lines = [json.loads(x) for x in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    assert [x["id"] for x in lines] == [f"{key}:processed"]


def test_resumed_attempt_does_not_append_twice(tmp_path: Path) -> None:
    records = Records(f"sqlite:///{tmp_path / 'records.db'}")
    key = records.uploads.receive("k-abababababab", "k.txt", "ab" * 32, 5, 1).key
    notifier = Notifier(tmp_path / "outbox.jsonl")
    note = Notification(key, "processed", "Processed k.txt")
    # An attempt that claimed and wrote the outbox line, then died before stamping the ledger.
    records.ledger.claim(key, "processed", note.message)
    notifier._append(note)
    assert notifier.send_once(note, records)
    assert len((tmp_path / "outbox.jsonl").read_text().splitlines()) == 1


def test_ledger_notes_each_target_until_the_message_is_sent(records: Records) -> None:
    key = records.uploads.receive("k-abababababab", "k.txt", "ab" * 32, 5, 1).key
    assert records.ledger.claim(key, "processed", "Processed k.txt") == "new"
    records.ledger.mark_delivered(key, "processed", "mail")
    records.ledger.mark_delivered(key, "processed", "mail")  # a repeat is harmless
    assert records.ledger.delivered(key, "processed") == {"mail"}
    assert records.ledger.delivered(key, "duplicate-2") == set()
    records.ledger.mark_sent(key, "processed")
    assert records.ledger.delivered(key, "processed") == set()  # nothing left to remember
    assert records.ledger.claim(key, "processed", "Processed k.txt") is None
