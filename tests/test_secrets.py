"""Notification credentials come from the environment and never show up anywhere else.

FILEPROC_NOTIFY_URLS holds Apprise URLs with passwords and tokens. After a file is processed,
the secret must be absent from the outbox, the records, the captured logs, the Dagster event
log and every file the run wrote; a target that is down must not cost the file or its record.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import hostile as h
import pytest
import sqlalchemy as sa

from fileproc_dagster.app.runner import process_paths
from fileproc_dagster.errors import TransientError
from fileproc_dagster.notify import Notification, Notifier, secret_parts
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.schema import notifications as ledger
from fileproc_dagster.storage.states import State

SECRET = "s3cr3t-Pa55word"
TOKEN = "TCtoken8899secret"


class _Hook(BaseHTTPRequestHandler):
    """A real HTTP endpoint on loopback that accepts what Apprise's json:// posts."""

    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 (the http.server API)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append({"auth": self.headers.get("Authorization", ""),
                              "body": json.loads(body)})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture()
def hook() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _everything_written(*roots: Path) -> Iterator[tuple[Path, bytes]]:
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                yield path, path.read_bytes()


def _process_with_urls(settings: Settings, monkeypatch: pytest.MonkeyPatch, urls: str,
                       source: Path) -> tuple[Any, list[str], list[tuple[Path, bytes]]]:
    """Process one file; its outcome, the run's events and every file of the instance."""
    monkeypatch.setenv("FILEPROC_NOTIFY_URLS", urls)
    configured = Settings.from_env()
    assert configured.notify_urls == urls
    with dg.instance_for_test() as instance:
        outcome, = process_paths(configured, [source], instance=instance)
        events = [e.to_json() if hasattr(e, "to_json") else repr(e)
                  for run in instance.get_runs() for e in instance.all_logs(run.run_id)]
        events += [repr(run) for run in instance.get_runs()]
        # Run and event storage, compute logs: read before the test instance is removed.
        written = list(_everything_written(Path(instance.root_directory)))
    return outcome, events, written


def _assert_nowhere(secret: str, settings: Settings, events: list[str], logs: str,
                    dagster_files: list[tuple[Path, bytes]]) -> None:
    assert all(secret not in e for e in events), "secret in the Dagster event log"
    for path, data in dagster_files:
        assert secret.encode() not in data, f"secret in the Dagster instance: {path}"
    assert secret not in logs, "secret in the captured logs"
    records = json.dumps([r.as_json() for r in Records(settings.db_url).files.all()],
                         default=str)
    assert secret not in records
    for path, data in _everything_written(settings.home):
        assert secret.encode() not in data, f"secret written to {path}"


def test_secret_url_is_used_but_never_shown(settings: Settings, hook: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    source = tmp_path / "minutes.txt"
    source.write_bytes(h.text("treasurer"))
    url = f"json://alice:{SECRET}@{hook}/hooks/{TOKEN}"
    outcome, events, written = _process_with_urls(settings, monkeypatch, url, source)
    assert outcome.record.state == "done"
    assert any(path.suffix == ".db" for path, _ in written)  # the instance storage was read
    # The target really got the message, authenticated with the secret...
    sha = outcome.record.sha256
    stored = settings.store_dir.resolve() / "objects" / sha[:2] / sha
    assert [r["body"]["message"] for r in _Hook.received] == [
        f"Processed minutes.txt (document) - db: {outcome.record.uuid}, "
        f"store: {stored}"]
    assert base64.b64decode(_Hook.received[0]["auth"].split()[1]).decode() == f"alice:{SECRET}"
    # ...and the secret is nowhere else.
    for secret in (SECRET, TOKEN):
        _assert_nowhere(secret, settings, events, caplog.text, written)
    outbox = settings.outbox.read_text()
    assert "Processed minutes.txt" in outbox and SECRET not in outbox


def test_target_that_is_down_keeps_the_file_done(settings: Settings, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    """Port 9 refuses at once; the step finishes the file and names the target that failed."""
    caplog.set_level(logging.DEBUG)
    source = tmp_path / "agenda.txt"
    source.write_bytes(h.text("agenda"))
    url = f"json://alice:{SECRET}@127.0.0.1:9/hook"
    outcome, events, written = _process_with_urls(settings, monkeypatch, url, source)
    record = outcome.record
    assert record.state == "done" and record.location  # stored, described, done
    assert not (settings.upload_dir / "agenda.txt").exists()  # nothing to lose: it is stored
    assert "Processed agenda.txt" in settings.outbox.read_text()  # the outbox has it
    with Records(settings.db_url).db.engine.begin() as conn:
        sent = conn.execute(sa.select(ledger.c.sent_at).where(ledger.c.key == record.key)
                            ).scalar_one()
    assert sent is None  # the ledger says the target still owes it: a re-run resends
    assert any("did not accept the message" in e for e in events)
    _assert_nowhere(SECRET, settings, events, caplog.text, written)


def test_malformed_url_is_reported_without_its_secret(settings: Settings,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    records = Records(settings.db_url)
    key = records.uploads.receive("k-abababababab", "k.txt", "ab" * 32, 5, 1).key
    notifier = Notifier(settings.outbox, [f"json//carol:{SECRET}@", f"slack://TA/TB/{TOKEN}"])
    with pytest.raises(TransientError, match="target 1 of FILEPROC_NOTIFY_URLS is not a valid") \
            as caught:
        notifier.send_once(Notification(key, "processed", "Processed k.txt"), records)
    assert SECRET not in str(caught.value) and SECRET not in caplog.text
    assert "Unsupported URL" in caplog.text  # Apprise said so, with the URL blanked out
    # The outbox got its line once; the retry finds it there and only retries the targets.
    notifier.urls = []
    assert notifier.send_once(Notification(key, "processed", "Processed k.txt"), records)
    assert len(settings.outbox.read_text().splitlines()) == 1


def test_secret_parts_cover_passwords_and_tokens() -> None:
    parts = secret_parts(["json://alice:p%40ss@example.org/hook",
                          "slack://TokenA1/TokenB22/TokenC333",
                          "mailto://bob:m%40ilpw@smtp.example.org:587?to=ops@example.org"])
    assert {"p%40ss", "p@ss", "alice", "TokenA1", "TokenB22", "TokenC333"} <= set(parts)
    # The authority ends at the query, whose addresses have an "@" too.
    assert {"bob", "m%40ilpw", "m@ilpw", "ops@example.org"} <= set(parts)
    assert "example.org" not in parts  # host names stay readable in the senders' logs
    assert "smtp.example.org:587" not in parts


def test_mail_password_is_used_but_never_shown(settings: Settings, mail_receiver: Any,
                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    source = tmp_path / "rota.txt"
    source.write_bytes(h.text("rota"))
    mail_receiver.password = SECRET  # the server checks the login given in the URL
    outcome, events, written = _process_with_urls(settings, monkeypatch, mail_receiver.url(),
                                                  source)
    assert outcome.record.state == "done"
    assert [(m.login, m.text.split(" - ")[0]) for m in mail_receiver.messages] == [
        ("notifier", "Processed rota.txt (document)")]
    _assert_nowhere(SECRET, settings, events, caplog.text, written)


def test_notification_left_unsent_is_sent_again_when_the_target_is_back(
        settings: Settings, hook: str) -> None:
    from datetime import UTC, datetime, timedelta

    from fileproc_dagster.defs.reconcile import RESEND_EVERY_S, resend_notifications, resend_request
    from fileproc_dagster.defs.resources import NotifierResource, RecordsResource
    from fileproc_dagster.storage.schema import files
    from support.resources import fileproc_of

    records = Records(settings.db_url)
    key = records.uploads.receive("k-abababababab", "k.txt", "ab" * 32, 5, 1).key
    records.files.insert(key, State.DONE, type="document")
    message = "Processed k.txt (document)"
    down = Notifier(settings.outbox, [f"json://alice:{SECRET}@127.0.0.1:9/hook"])
    with pytest.raises(TransientError):  # what every step retry of the file ran into
        down.send_once(Notification(key, "processed", message), records)
    resource = RecordsResource(url=settings.db_url)
    now = datetime.now(UTC)
    assert resend_request(resource, now) == []  # its run may still be retrying
    with records.db.engine.begin() as conn:
        conn.execute(files.update().values(updated_at=now - timedelta(seconds=RESEND_EVERY_S)))
    requested = resend_request(resource, now + timedelta(seconds=1))
    assert [r.job_name for r in requested] == ["resend_notifications"]

    def resend(url: str) -> dg.ExecuteInProcessResult:
        return resend_notifications.execute_in_process(raise_on_error=False, resources={
            "fileproc": fileproc_of(settings, records=resource, notifier=NotifierResource(
                outbox=str(settings.outbox), urls=url))})

    still_down = resend(f"json://alice:{SECRET}@127.0.0.1:9/hook")
    assert not still_down.success
    failure = still_down.get_step_failure_events()[0].step_failure_data.error
    assert failure is not None and "1 of 1 notification(s) still not accepted" in failure.message
    back = resend(f"json://alice:{SECRET}@{hook}/hook")
    assert back.success and back.output_for_node("resend") == 1
    assert [r["body"]["message"] for r in _Hook.received] == [message]
    assert resend_request(resource, now + timedelta(seconds=1)) == []  # stamped sent
    assert len(settings.outbox.read_text().splitlines()) == 1


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://fileproc:s3cr3t@db:5432/records", "postgresql://***@db:5432/records"),
    ("redis://:s3cr3t@cache:6379/0", "redis://***@cache:6379/0"),
    ("http://proxy:s3cr3t@127.0.0.1:9000", "http://***@127.0.0.1:9000"),
    ("mailto://bob:s3cr3t@smtp.example.org:587?to=ops@example.org",
     "mailto://***@smtp.example.org:587?to=ops@example.org"),
    ("postgresql://db/records?sslmode=require&password=s3cr3t",
     "postgresql://db/records?sslmode=require&password=***"),
    ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
    ("sqlite:////srv/fileproc/records.db", "sqlite:////srv/fileproc/records.db"),
])
def test_urls_are_shown_without_their_login(url: str, shown: str) -> None:
    from fileproc_dagster.secrets import hide_userinfo, without_userinfo

    assert without_userinfo(url) == shown
    assert hide_userinfo(f"cannot reach {url} (refused)") == f"cannot reach {shown} (refused)"


def test_secret_settings_reach_dagster_as_their_variables(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """From the environment the resources hold the variables' names (the UI shows those);
    settings built in code keep their values, and their resources still work."""
    from fileproc_dagster.definitions import build_resources
    from fileproc_dagster.settings import S3Location

    url = f"json://alice:{SECRET}@127.0.0.1:9/hook"
    monkeypatch.setenv("FILEPROC_DB_URL", settings.db_url)
    monkeypatch.setenv("FILEPROC_NOTIFY_URLS", url)
    monkeypatch.setenv("FILEPROC_STORE", "s3://files/prod")
    monkeypatch.setenv("FILEPROC_S3_ENDPOINT_URL", f"http://proxy:{SECRET}@127.0.0.1:9000")
    resources = build_resources(Settings.from_env())
    held = {(name, field): getattr(resources[name], field) for name, field in (
        ("records", "url"), ("notifier", "urls"), ("object_store", "endpoint_url"))}
    assert all(isinstance(value, dg.EnvVar) for value in held.values()), held
    assert [v.env_var_name for v in held.values()] == [
        "FILEPROC_DB_URL", "FILEPROC_NOTIFY_URLS", "FILEPROC_S3_ENDPOINT_URL"]
    for variable in ("FILEPROC_DB_URL", "FILEPROC_NOTIFY_URLS", "FILEPROC_S3_ENDPOINT_URL"):
        monkeypatch.delenv(variable)
    in_code = Settings.from_env({"FILEPROC_HOME": str(settings.home)})
    in_code = replace(in_code, s3=S3Location("files", "prod", "http://127.0.0.1:9000"))
    resources = build_resources(in_code)
    assert not isinstance(resources["records"].url, dg.EnvVar)  # type: ignore[union-attr]
    assert resources["records"].url == in_code.db_url  # type: ignore[union-attr]
    assert resources["object_store"].endpoint_url == "http://127.0.0.1:9000"  # type: ignore
    assert resources["notifier"].urls == ""  # type: ignore[union-attr]
    assert resources["records"].store().files.all() == []  # type: ignore[union-attr]


def test_an_unreachable_endpoint_is_reported_without_its_login(s3_env: Any) -> None:
    """botocore quotes the endpoint URL it could not reach; the step's error (and what it
    chains, which Dagster shows too) keeps the host and hides the login."""
    import traceback

    import boto3
    from botocore.config import Config

    from fileproc_dagster.storage.s3 import S3ObjectStore

    client = boto3.client("s3", endpoint_url=f"http://proxy:{SECRET}@127.0.0.1:9",
                          config=Config(retries={"total_max_attempts": 1}, connect_timeout=2))
    store = S3ObjectStore(client, "files")
    with pytest.raises(TransientError, match=r"object store unavailable") as caught:
        store.exists("ab" * 32)
    shown = "".join(traceback.format_exception(caught.value))
    assert "http://***@127.0.0.1:9" in str(caught.value)
    assert SECRET not in shown


def test_status_shows_daemon_and_sensor_errors_without_logins() -> None:
    from fileproc_dagster.app.status import daemon_health
    from fileproc_dagster.defs._dagster_compat import Heartbeat

    error = f"OperationalError: redis://worker:{SECRET}@cache:6379/0 refused"
    [beat] = daemon_health({"SENSOR": Heartbeat("SENSOR", 100.0, (error,))}, ["SENSOR"],
                           110.0, 90.0)
    assert beat.errors == ("OperationalError: redis://***@cache:6379/0 refused",)
