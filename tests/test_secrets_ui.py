"""No secret where a person can look: the production deployment (records and Dagster's instance
on PostgreSQL, S3 on moto's server behind an endpoint URL with a login, Celery on Redis with a
password, mail and webhook targets) with a marker in every secret-bearing variable processes
one file; then everything the Dagster UI serves (every resource's configured values, the
instance page, the launchpad's defaults, runs' config and tags, the event log and the captured
logs, sensor ticks, daemon health), the outbox, ``fileproc status`` and the logs of the daemon,
the webserver and the Celery worker are read. No marker may appear in any of them, while the
secrets did their work (the targets got the notice).
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from celery_env import Production
from daemon import drop, finished, leftovers, live_runs, make_text, running, venv_bin

from fileproc_dagster.storage.records import Records
from support.production import DEPLOY, Webserver, workers

# Its Celery worker uses the Redis database of the Celery tests: one xdist process runs them.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("redis")]

# One marker per secret, so a failure says whose value leaked.
MARKERS = {
    "FILEPROC_DB_URL": "recordsPw4d1e",
    "DAGSTER_PG_URL": "dagsterPw4d2e",
    "FILEPROC_NOTIFY_URLS (mail password)": "mailPw4d3e",
    "FILEPROC_NOTIFY_URLS (webhook token)": "hookToken4d4e",
    "AWS_ACCESS_KEY_ID": "AKIAMARKER4D5E",
    "AWS_SECRET_ACCESS_KEY": "awsSecret4d6e",
    "FILEPROC_S3_ENDPOINT_URL": "endpointPw4d7e",
    "FILEPROC_CELERY_BROKER": "brokerPw4d8e",
    "FILEPROC_CELERY_BACKEND": "backendPw4d9e",
}
REDIS_USER = "fileproc-secrets-test"


def _password(url: str, variable: str) -> str:
    return sa.make_url(url).set(password=MARKERS[variable]).render_as_string(
        hide_password=False)


@pytest.fixture()
def redis_login(redis_url: str) -> Iterator[str]:
    """A Redis user whose passwords are the broker's and the backend's markers."""
    client = redis.Redis.from_url(redis_url)
    client.acl_setuser(REDIS_USER, enabled=True, reset_passwords=True,
                       passwords=[f"+{MARKERS['FILEPROC_CELERY_BROKER']}",
                                  f"+{MARKERS['FILEPROC_CELERY_BACKEND']}"],
                       keys=["*"], channels=["*"], commands=["+@all"])
    yield redis_url
    client.acl_deluser(REDIS_USER)


def _redis(url: str, variable: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{REDIS_USER}:{MARKERS[variable]}@{rest}"


@pytest.fixture()
def marked(production: Production, redis_login: str) -> Production:
    """The production environment with a marker in every secret it holds."""
    endpoint = production.s3.endpoint_url.replace(
        "://", f"://s3proxy:{MARKERS['FILEPROC_S3_ENDPOINT_URL']}@")
    production.mail.password = MARKERS["FILEPROC_NOTIFY_URLS (mail password)"]
    token = MARKERS["FILEPROC_NOTIFY_URLS (webhook token)"]
    env = {
        **production.env,
        "FILEPROC_DB_URL": _password(production.env["FILEPROC_DB_URL"], "FILEPROC_DB_URL"),
        "DAGSTER_PG_URL": _password(production.env["DAGSTER_PG_URL"], "DAGSTER_PG_URL"),
        "FILEPROC_NOTIFY_URLS": f"{production.mail.url()} "
                                f"{production.hook.url(path=f'/hook/{token}')}",
        "AWS_ACCESS_KEY_ID": MARKERS["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": MARKERS["AWS_SECRET_ACCESS_KEY"],
        "FILEPROC_S3_ENDPOINT_URL": endpoint,
        "FILEPROC_CELERY_BROKER": _redis(redis_login, "FILEPROC_CELERY_BROKER"),
        "FILEPROC_CELERY_BACKEND": _redis(redis_login, "FILEPROC_CELERY_BACKEND"),
    }
    return replace(production, env=env)


@dataclass
class Ui:
    """The webserver's GraphQL endpoint."""

    port: int

    def ask(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/graphql", method="POST",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answer: dict[str, Any] = json.load(response)
        assert "errors" not in answer, answer
        return answer["data"]


LOCATION = "fileproc_dagster.definitions"
REPOSITORY = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__"}
RESOURCES = """
query ($repo: RepositorySelector!) {
  allTopLevelResourceDetailsOrError(repositorySelector: $repo) {
    ... on ResourceDetailsList {
      results { name description resourceType
                configFields { name description defaultValueAsJson }
                configuredValues { key value type } }
    }
  }
}"""
INSTANCE = """
{ instance { info runLauncher { name }
             daemonHealth { allDaemonStatuses { daemonType healthy
                                                lastHeartbeatErrors { message stack } } } } }"""
LAUNCHPAD = """
query ($job: PipelineSelector!) {
  runConfigSchemaOrError(selector: $job) { ... on RunConfigSchema { rootDefaultYaml } }
}"""
RUNS = """
{ runsOrError { ... on Runs { results { runId jobName status runConfigYaml
                                          tags { key value } } } } }"""
ENTRIES = """
metadataEntries { label description
  ... on TextMetadataEntry { text } ... on UrlMetadataEntry { url }
  ... on PathMetadataEntry { path } ... on JsonMetadataEntry { jsonString }
  ... on MarkdownMetadataEntry { mdStr } }"""
EVENTS = """
query ($runId: ID!) {
  logsForRun(runId: $runId, limit: 5000) {
    ... on EventConnection {
      events {
        __typename
        ... on MessageEvent { message stepKey }
        ... on DisplayableEvent { label description ENTRIES }
        ... on ErrorEvent { error { message stack causes { message stack } } }
        ... on LogsCapturedEvent { fileKey }
      }
    }
  }
}""".replace("ENTRIES", ENTRIES)
CAPTURED = """
query ($key: [String!]!) { capturedLogs(logKey: $key) { stdout stderr } }"""
SENSORS = """
query ($repo: RepositorySelector!) {
  sensorsOrError(repositorySelector: $repo) {
    ... on Sensors { results { name sensorState { ticks(limit: 50) {
        status skipReason logKey error { message stack } } } } }
  }
}"""


def ui_pages(ui: Ui) -> dict[str, str]:
    """Every answer of the UI's GraphQL this test reads, by what it is."""
    pages = {"resources": json.dumps(ui.ask(RESOURCES, {"repo": REPOSITORY})),
             "instance": json.dumps(ui.ask(INSTANCE)),
             "sensors": json.dumps(ui.ask(SENSORS, {"repo": REPOSITORY}))}
    for job in ("process_file", "resend_notifications"):
        pages[f"launchpad {job}"] = json.dumps(ui.ask(LAUNCHPAD, {"job": {
            **REPOSITORY, "pipelineName": job}}))
    runs = ui.ask(RUNS)["runsOrError"]["results"]
    pages["runs"] = json.dumps(runs)
    for run in runs:
        events = ui.ask(EVENTS, {"runId": run["runId"]})["logsForRun"]["events"]
        pages[f"events of run {run['runId']}"] = json.dumps(events)
        for key in {e["fileKey"] for e in events if e.get("fileKey")}:
            pages[f"captured logs {key} of run {run['runId']}"] = json.dumps(
                ui.ask(CAPTURED, {"key": [run["runId"], "compute_logs", key]}))
    return pages


def test_no_secret_reaches_the_ui_the_outbox_or_status(marked: Production, tmp_path: Any
                                                      ) -> None:
    settings = marked.settings
    source = make_text(tmp_path / "minutes.txt", 7)
    with running(settings, marked.env, dagster_yaml=DEPLOY) as daemon, \
            workers(daemon.env, settings.home, count=1):
        web = Webserver(daemon.env, settings.home / "webserver.log")
        try:
            web.wait_ready()
            drop(settings, source)
            records = Records(settings.db_url)
            daemon.wait_for("the file to be done", lambda: finished(records, 1), 300, every_s=1)
            daemon.wait_for("the upload to be deleted", lambda: not leftovers(settings), 60)
            with daemon.instance() as instance:
                daemon.wait_for("no run left going", lambda: not live_runs(instance), 120)
            pages = ui_pages(Ui(web.port))
        finally:
            web.stop()
        status = {" ".join(["fileproc status", *flags]): subprocess.run(
            [venv_bin("fileproc"), "status", *flags], env=daemon.env, capture_output=True,
            text=True, timeout=120) for flags in ([], ["--json"])}
    [record] = records.files.all()
    assert record.state == "done", record
    # The secrets were used: the store, the database, the broker and both targets worked.
    assert [m.login for m in marked.mail.messages] == ["notifier"]
    assert len(marked.hook.accepted) == 1
    for name, done in status.items():
        assert done.returncode == 0, done.stderr
        pages[name] = done.stdout + done.stderr
    pages["outbox"] = settings.outbox.read_text()
    for log in ("daemon.log", "webserver.log", "worker1.log"):  # what operators read too
        pages[log] = (settings.home / log).read_text(errors="replace")
    assert "Processed minutes.txt" in pages["outbox"]
    leaks = [f"{variable} in {page}" for page, text in pages.items()
             for variable, marker in MARKERS.items() if marker in text]
    assert not leaks, "\n".join(leaks)
    # The UI names the variables instead.
    resources = json.loads(pages["resources"])["allTopLevelResourceDetailsOrError"]["results"]
    configured = {(r["name"], v["key"]): (v["type"], v["value"])
                  for r in resources for v in r["configuredValues"]}
    assert configured[("records", "url")] == ("ENV_VAR", "FILEPROC_DB_URL")
    assert configured[("object_store", "endpoint_url")] == ("ENV_VAR",
                                                            "FILEPROC_S3_ENDPOINT_URL")
    assert configured[("notifier", "urls")] == ("ENV_VAR", "FILEPROC_NOTIFY_URLS")
    assert "PostgresRunStorage" in pages["instance"]  # the production instance's page
    assert record.uuid in "".join(v for k, v in pages.items() if k.startswith("events"))
