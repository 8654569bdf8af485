"""Notifications to real targets on loopback: an SMTP server (``mailto://``, plain SMTP with a
login) and a JSON webhook (``json://``), both in FILEPROC_NOTIFY_URLS beside the outbox.

Each message reaches each target once: for every file processed, for a duplicate upload and
for a quarantined file, and never again on a re-run. A target that refuses or is down does not
keep the file from being done: the step names the target (not its URL), the ledger keeps the
message owed to that target alone, and a resend delivers it once the target answers.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import hostile as h
import pytest
import sqlalchemy as sa

from fileproc_dagster.app.runner import process_paths
from fileproc_dagster.definitions import ASSETS, build_resources
from fileproc_dagster.defs.partitions import uploads_partitions
from fileproc_dagster.defs.reconcile import RESEND_EVERY_S, resend_notifications, resend_request
from fileproc_dagster.defs.resources import NotifierResource, RecordsResource
from fileproc_dagster.intake.admit import receive
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Record, Records
from fileproc_dagster.storage.schema import files, notifications
from support.receivers import RECIPIENT, SENDER, MailReceiver, WebhookReceiver
from support.resources import fileproc_of

HOOK_SECRET = "hook-Pa55word"
HOOK_TOKEN = "T0kenInThePath77"


def _configure(monkeypatch: pytest.MonkeyPatch, *urls: str) -> Settings:
    monkeypatch.setenv("FILEPROC_NOTIFY_URLS", " ".join(urls))
    settings = Settings.from_env()
    settings.ensure_dirs()
    return settings


def _hook_url(hook: WebhookReceiver) -> str:
    return hook.url(path=f"/hooks/{HOOK_TOKEN}", userinfo=f"alice:{HOOK_SECRET}")


def _sources(tmp_path: Path, *topics: str) -> list[Path]:
    return [h.write(tmp_path / "in", f"{topic.replace(' ', '_')}.txt", h.text(topic))
            for topic in topics]


def _stored_at(settings: Settings, record: Record) -> Path:
    """Where the local store keeps the record's object."""
    return settings.store_dir.resolve() / "objects" / record.sha256[:2] / record.sha256


def _processed(settings: Settings, record: Record) -> str:
    return (f"Processed {record.name} ({record.type}) - db: {record.uuid}, "
            f"store: {_stored_at(settings, record)}")


def _outbox(settings: Settings) -> list[str]:
    import json

    if not settings.outbox.exists():
        return []
    return [json.loads(line)["message"] for line in settings.outbox.read_text().splitlines()]


def _sent_at(settings: Settings, key: str) -> list[datetime | None]:
    with Records(settings.db_url).db.engine.begin() as conn:
        return list(conn.execute(sa.select(notifications.c.sent_at)
                                 .where(notifications.c.key == key)).scalars())


def _rerun(settings: Settings, instance: dg.DagsterInstance, keys: list[str]) -> None:
    """Materialize the partitions again, as a retry or a re-execution from the UI does."""
    for key in keys:
        dg.materialize(ASSETS, partition_key=key, instance=instance,
                       resources=build_resources(settings), raise_on_error=False)


@pytest.fixture()
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


def test_each_processed_file_is_mailed_and_posted_once(
        settings: Settings, mail_receiver: MailReceiver, webhook_receiver: WebhookReceiver,
        instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    configured = _configure(monkeypatch, mail_receiver.url(), _hook_url(webhook_receiver))
    sources = _sources(tmp_path, "garden committee", "library board", "choir rehearsal")
    outcomes = list(process_paths(configured, sources, instance=instance))
    records = [o.record for o in outcomes]
    assert all(r is not None and r.state == "done" for r in records)
    expected = sorted(_processed(configured, r) for r in records if r is not None)
    mails = mail_receiver.messages
    assert sorted(m.text for m in mails) == expected
    assert {(m.sender, tuple(m.recipients), m.subject, m.login) for m in mails} == {
        (SENDER, (RECIPIENT,), "fileproc", "notifier")}  # the URL's login was used
    assert sorted(webhook_receiver.accepted) == expected
    assert len(webhook_receiver.posts) == len(sources)
    assert {p.path for p in webhook_receiver.posts} == {f"/hooks/{HOOK_TOKEN}"}
    assert sorted(_outbox(configured)) == expected
    # Every notification is stamped sent; re-running the partitions sends nothing more.
    keys = [o.key for o in outcomes if o.key]
    assert all(_sent_at(configured, key)[0] is not None for key in keys)
    _rerun(configured, instance, keys)
    assert len(mail_receiver.messages) == len(webhook_receiver.posts) == len(sources)
    assert len(_outbox(configured)) == len(sources)


def test_a_duplicate_upload_is_reported_once(
        settings: Settings, mail_receiver: MailReceiver, webhook_receiver: WebhookReceiver,
        instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    configured = _configure(monkeypatch, mail_receiver.url(), _hook_url(webhook_receiver))
    original, = _sources(tmp_path, "parish council")
    copy = tmp_path / "in" / "council copy.txt"
    shutil.copyfile(original, copy)
    first, second = process_paths(configured, [original, copy], instance=instance)
    assert second.duplicate and second.key == first.key and second.record is not None
    record = second.record
    expected = sorted([_processed(configured, record),
                       f"Duplicate council copy.txt of {record.name} ({record.type}) - "
                       f"db: {record.uuid}, store: {_stored_at(configured, record)}"])
    assert sorted(m.text for m in mail_receiver.messages) == expected
    assert sorted(webhook_receiver.accepted) == expected
    _rerun(configured, instance, [record.key])
    assert len(mail_receiver.messages) == len(webhook_receiver.posts) == 2
    assert sorted(_outbox(configured)) == expected


def test_a_quarantined_file_is_reported_once(
        settings: Settings, mail_receiver: MailReceiver, webhook_receiver: WebhookReceiver,
        instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    configured = _configure(monkeypatch, mail_receiver.url(), _hook_url(webhook_receiver))
    empty = h.write(tmp_path / "in", "empty.pdf", b"")
    outcome, = process_paths(configured, [empty], instance=instance)
    record = outcome.record
    assert record is not None and record.state == "quarantined"
    expected = [f"Quarantined empty.pdf: {record.error}"]
    assert [m.text for m in mail_receiver.messages] == expected
    assert webhook_receiver.accepted == expected
    _rerun(configured, instance, [record.key])
    assert len(mail_receiver.messages) == len(webhook_receiver.posts) == 1
    assert _outbox(configured) == expected


def _drop(settings: Settings, source: Path, instance: dg.DagsterInstance) -> str:
    shutil.copyfile(source, settings.upload_dir / source.name)
    key = receive(settings.upload_dir, source.name, Records(settings.db_url)).key
    instance.add_dynamic_partitions(str(uploads_partitions.name), [key])
    return key


def _age(settings: Settings) -> None:
    """Make every file look idle for longer than the resend waits (its run long over)."""
    with Records(settings.db_url).db.engine.begin() as conn:
        conn.execute(files.update().values(
            updated_at=datetime.now(UTC) - timedelta(seconds=RESEND_EVERY_S + 5)))


def _resend(settings: Settings, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """What the reconcile sensor asks for when notifications are left unsent."""
    records = RecordsResource(url=settings.db_url)
    requested = resend_request(records, datetime.now(UTC))
    assert [r.job_name for r in requested] == [resend_notifications.name]
    notifier = NotifierResource(outbox=str(settings.outbox),
                                urls=dg.EnvVar("FILEPROC_NOTIFY_URLS"))
    return resend_notifications.execute_in_process(
        instance=instance, raise_on_error=False,
        resources={"fileproc": fileproc_of(settings, records=records, notifier=notifier)})


def _logged(instance: dg.DagsterInstance, run_id: str) -> str:
    """Everything the run's event log says, messages and event data."""
    return "\n".join(entry.user_message + repr(entry.dagster_event)
                     for entry in instance.all_logs(run_id))


@pytest.mark.parametrize("outage", ["answers 500", "is down"])
def test_a_target_that_fails_leaves_the_file_done_and_gets_the_message_later(
        settings: Settings, mail_receiver: MailReceiver, webhook_receiver: WebhookReceiver,
        instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        outage: str) -> None:
    configured = _configure(monkeypatch, mail_receiver.url(), _hook_url(webhook_receiver))
    if outage == "is down":
        webhook_receiver.stop()
    else:
        webhook_receiver.status = 500
    source, = _sources(tmp_path, "allotment rota")
    key = _drop(configured, source, instance)
    result = dg.materialize(ASSETS, partition_key=key, instance=instance,
                            resources=build_resources(configured))
    assert result.success  # a notification target is not the file's business
    record = Records(configured.db_url).files.get(key)
    assert record is not None and record.state == "done"
    assert not (configured.upload_dir / source.name).exists()
    message = _processed(configured, record)
    assert [m.text for m in mail_receiver.messages] == [message]
    assert webhook_receiver.accepted == [] and _outbox(configured) == [message]
    assert _sent_at(configured, key) == [None]  # still owed to the webhook
    # The step says which target failed and why, never its URL.
    metadata = result.asset_materializations_for_node("processed_file")[0].metadata
    undelivered = metadata["notifications_undelivered"].value
    target = f"target 2 of FILEPROC_NOTIFY_URLS (json://127.0.0.1:{webhook_receiver.port})"
    assert isinstance(undelivered, list) and len(undelivered) == 1
    assert undelivered[0].startswith(f"processed: {target} did not accept the message")
    assert ("error=500" if outage == "answers 500" else "Connection error") in undelivered[0]
    logs = _logged(instance, result.run_id)
    assert f"{key}: notification not delivered, processed: {target}" in logs
    for secret in (HOOK_SECRET, HOOK_TOKEN, mail_receiver.password or "-"):
        assert secret not in logs and secret not in repr(undelivered)
    # A re-run delivers nothing twice: the mail target has it, the webhook still refuses.
    _rerun(configured, instance, [key])
    assert len(mail_receiver.messages) == 1 and webhook_receiver.accepted == []
    _age(configured)
    still = _resend(configured, instance)
    assert not still.success
    failure = still.get_step_failure_events()[0].step_failure_data.error
    assert failure is not None and "1 of 1 notification(s) still not accepted" in failure.message
    assert target in _logged(instance, still.run_id)
    # Back up: the resend reaches the webhook alone, once.
    if outage == "is down":
        webhook_receiver.start()
    webhook_receiver.status = 200
    back = _resend(configured, instance)
    assert back.success and back.output_for_node("resend") == 1
    assert webhook_receiver.accepted == [message]
    assert [m.text for m in mail_receiver.messages] == [message]
    assert _sent_at(configured, key) != [None]
    assert resend_request(RecordsResource(url=configured.db_url), datetime.now(UTC)) == []
    _rerun(configured, instance, [key])
    assert webhook_receiver.accepted == [message] and len(mail_receiver.messages) == 1
    assert _outbox(configured) == [message]
