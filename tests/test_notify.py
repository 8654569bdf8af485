"""Notifications: once per file and event, even when an attempt died half-way; once per
target, even when another target refused (the SMTP and webhook receivers on loopback)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import pytest

from fileproc_dagster import notify
from fileproc_dagster.errors import TransientError, Undelivered
from fileproc_dagster.notify import Notification, Notifier, Target, stored_at
from fileproc_dagster.storage.objects import LocalObjectStore, object_key
from fileproc_dagster.storage.records import Records
from support.receivers import MailReceiver, WebhookReceiver


def test_outbox_gets_each_notification_once(tmp_path: Path) -> None:
    records = Records(f"sqlite:///{tmp_path / 'records.db'}")
    key = records.uploads.receive("k-abababababab", "k.txt", "ab" * 32, 5, 1).key
    notifier = Notifier(tmp_path / "outbox.jsonl")
    note = Notification(key, "processed", "Processed k.txt (document)")
    assert notifier.send_once(note, records)
    assert not notifier.send_once(note, records)
    lines = [json.loads(x) for x in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    assert [x["id"] for x in lines] == [f"{key}:processed"]


def test_the_object_is_named_by_its_store(tmp_path: Path) -> None:
    local = LocalObjectStore(tmp_path / "my store")
    sha = hashlib.sha256(b"minutes").hexdigest()
    written = local.put_bytes(object_key(sha), b"minutes")
    shown = stored_at(written)
    assert shown == f"store: {tmp_path.resolve() / 'my store' / 'objects' / sha[:2] / sha}"
    assert Path(shown.removeprefix("store: ")).read_bytes() == b"minutes"
    on_s3 = f"s3://files/fileproc/objects/{sha[:2]}/{sha}"
    assert stored_at(on_s3) == f"s3: {on_s3}"


def test_resumed_attempt_does_not_append_twice(tmp_path: Path) -> None:
    records = Records(f"sqlite:///{tmp_path / 'records.db'}")
    key = records.uploads.receive("k-abababababab", "k.txt", "ab" * 32, 5, 1).key
    notifier = Notifier(tmp_path / "outbox.jsonl")
    note = Notification(key, "processed", "Processed k.txt")
    # An attempt that claimed and wrote the outbox line, then died before stamping the ledger
    # (its hold has lapsed).
    records.ledger.claim(key, "processed", note.message, hold_s=0)
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


def test_targets_are_named_without_their_secrets() -> None:
    def shown(url: str) -> str:
        return str(Target(2, url))

    assert shown("json://alice:pw-secret@hooks.example.org/hooks/T0ken99") == \
        "target 2 of FILEPROC_NOTIFY_URLS (json://hooks.example.org)"
    assert shown("mailto://bob:pw-secret@smtp.example.org:587?to=ops@example.org") == \
        "target 2 of FILEPROC_NOTIFY_URLS (mailto://smtp.example.org:587)"
    assert shown("slack://TokenA1/TokenB22/TokenC333") == \
        "target 2 of FILEPROC_NOTIFY_URLS (slack)"
    assert shown("hooks.example.org/services/T0ken99") == \
        "target 2 of FILEPROC_NOTIFY_URLS (no scheme)"
    assert "pw-secret" not in repr(Target(1, "json://a:pw-secret@example.org"))


def test_a_target_that_refuses_is_sent_again_alone(
        tmp_path: Path, records: Records, mail_receiver: MailReceiver,
        webhook_receiver: WebhookReceiver) -> None:
    key = records.uploads.receive("k-abababababab", "k.txt", "ab" * 32, 5, 1).key
    notifier = Notifier(tmp_path / "outbox.jsonl", [mail_receiver.url(), webhook_receiver.url()])
    note = Notification(key, "processed", "Processed k.txt (document)")
    webhook_receiver.status = 503
    with pytest.raises(Undelivered) as caught:
        notifier.send_once(note, records)
    failure, = caught.value.failures  # the target and what Apprise said of it
    assert failure.startswith(f"target 2 of FILEPROC_NOTIFY_URLS (json://127.0.0.1:"
                              f"{webhook_receiver.port}) did not accept the message: ")
    assert "error=503" in failure
    assert [m.text for m in mail_receiver.messages] == [note.message]
    with pytest.raises(Undelivered):  # a retry tells the webhook again, not the mail server
        notifier.send_once(note, records)
    webhook_receiver.status = 200
    assert notifier.send_once(note, records)
    assert not notifier.send_once(note, records)
    assert [m.text for m in mail_receiver.messages] == [note.message]
    assert webhook_receiver.accepted == [note.message]
    assert [p.status for p in webhook_receiver.posts] == [503, 503, 200]
    assert len((tmp_path / "outbox.jsonl").read_text().splitlines()) == 1


def test_an_invalid_url_does_not_stop_the_others(
        tmp_path: Path, records: Records, webhook_receiver: WebhookReceiver) -> None:
    key = records.uploads.receive("k-abababababab", "k.txt", "ab" * 32, 5, 1).key
    notifier = Notifier(tmp_path / "outbox.jsonl", ["nosuchscheme://x", webhook_receiver.url()])
    with pytest.raises(Undelivered, match=r"target 1 of FILEPROC_NOTIFY_URLS is not a valid "
                                          r"Apprise URL \(nosuchscheme\)"):
        notifier.send_once(Notification(key, "processed", "Processed k.txt"), records)
    assert webhook_receiver.accepted == ["Processed k.txt"]


def test_a_sender_that_raises_is_a_failure_of_its_target_alone(
        tmp_path: Path, records: Records, webhook_receiver: WebhookReceiver,
        monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def notify(self, **_: str) -> bool:
            raise RuntimeError("json://alice:pw-secret@example.org went wrong")

    key = records.uploads.receive("k-abababababab", "k.txt", "ab" * 32, 5, 1).key
    notifier = Notifier(tmp_path / "outbox.jsonl", ["json://alice:pw-secret@example.org",
                                                    webhook_receiver.url()])
    real = notifier._sender
    monkeypatch.setattr(notifier, "_sender",
                        lambda url: Broken() if "pw-secret" in url else real(url))
    with pytest.raises(Undelivered) as caught:
        notifier.send_once(Notification(key, "processed", "Processed k.txt"), records)
    assert caught.value.failures == ["target 1 of FILEPROC_NOTIFY_URLS (json://example.org) did "
                                     "not accept the message: RuntimeError in Apprise"]
    assert webhook_receiver.accepted == ["Processed k.txt"]


def test_a_second_attempt_at_once_waits_for_the_first_and_sends_nothing(
        tmp_path: Path, records: Records, webhook_receiver: WebhookReceiver) -> None:
    # A step that Celery handed to a second worker while the first still ran it.
    key = records.uploads.receive("k-abababababab", "k.txt", "ab" * 32, 5, 1).key
    note = Notification(key, "processed", "Processed k.txt")
    notifier = Notifier(tmp_path / "outbox.jsonl", [webhook_receiver.url()])
    assert records.ledger.claim(key, note.event, note.message) == "new"  # the first attempt
    second: list[bool] = []
    waiting = threading.Thread(target=lambda: second.append(notifier.send_once(note, records)))
    waiting.start()
    time.sleep(1.5)
    assert waiting.is_alive() and webhook_receiver.posts == []  # it waits, it sends nothing
    target = Target(1, webhook_receiver.url())
    records.ledger.mark_delivered(key, note.event, target.id)  # the first one's work
    records.ledger.mark_sent(key, note.event)
    waiting.join(10)
    assert second == [False] and webhook_receiver.posts == []


def test_a_database_outage_after_a_target_accepted_does_not_tell_it_twice(
        tmp_path: Path, records: Records, webhook_receiver: WebhookReceiver,
        monkeypatch: pytest.MonkeyPatch) -> None:
    key = records.uploads.receive("k-abababababab", "k.txt", "ab" * 32, 5, 1).key
    note = Notification(key, "processed", "Processed k.txt")
    notifier = Notifier(tmp_path / "outbox.jsonl", [webhook_receiver.url()])
    real, outage = records.ledger.mark_delivered, [2]

    def noted_once_the_database_is_back(*args: str) -> None:
        if outage[0]:
            outage[0] -= 1
            raise TransientError("records database unavailable (test): connection refused")
        real(*args)

    monkeypatch.setattr(records.ledger, "mark_delivered", noted_once_the_database_is_back)
    monkeypatch.setattr(notify, "_NOTE_RETRY_S", 0.05)
    assert notifier.send_once(note, records)
    assert not notifier.send_once(note, records)
    assert webhook_receiver.accepted == [note.message]
