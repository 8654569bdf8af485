"""Prometheus metrics: the counting queries, the directory census, and the server as
Prometheus scrapes it (in this process and through ``fileproc metrics``)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from fileproc_dagster.app.metrics import PROCESS_JOB, serve
from fileproc_dagster.definitions import ASSETS, build_resources
from fileproc_dagster.defs.partitions import uploads_partitions
from fileproc_dagster.intake.admit import receive
from fileproc_dagster.intake.census import quarantine_usage, unregistered
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.states import State
from support.runs import add_run

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str, accept: str | None = None) -> str:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        return str(response.read().decode())


def samples_of(text: str) -> Samples:
    """Every sample of a scrape, by name and labels."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- the counting queries, on SQLite and PostgreSQL ----------------------------------------

def test_counts_owed_and_processing_times(records: Records) -> None:
    for n, name in enumerate(["a.txt", "b.txt", "c.pdf", "d.png"]):
        records.uploads.receive(f"k{n}", name, f"{n:064x}", 10, n)
    for key in ("k0", "k1"):
        records.files.insert(key, State.STORED, type="document", mime="text/plain",
                             location="x")
        for state in (State.DESCRIBED, State.DONE):
            records.files.advance(key, state)
    records.files.fail("k2", "empty file (0 bytes)", state=State.QUARANTINED)
    assert records.files.counts() == {(State.DONE, "document"): 2,
                                      (State.QUARANTINED, None): 1, (State.RECEIVED, None): 1}
    assert records.uploads.pending_count() == 4  # nothing moved or deleted them here
    times = records.files.processing_times()
    assert [kind for kind, _ in times] == ["document", "document"]
    assert all(0 <= seconds < 60 for _, seconds in times)
    assert len(records.files.processing_times(limit=1)) == 1
    assert records.ledger.owed() == 0
    records.ledger.claim("k0", "processed", "Processed a.txt")
    records.ledger.claim("k1", "processed", "Processed b.txt")
    records.ledger.mark_sent("k0", "processed")
    assert records.ledger.owed() == 1


def test_census_of_the_upload_and_quarantine_directories(tmp_path: Path) -> None:
    uploads, quarantine = tmp_path / "uploads", tmp_path / "quarantine"
    assert unregistered(uploads, set()) == 0 and quarantine_usage(quarantine).entries == 0
    uploads.mkdir()
    for name in ("new.pdf", "registered.pdf", "big.iso.part", ".hidden"):
        (uploads / name).write_bytes(b"x")
    assert unregistered(uploads, {"registered.pdf"}) == 1  # temporary names are not uploads
    (quarantine / "empty-e3b0c44298fc").mkdir(parents=True)
    (quarantine / "empty-e3b0c44298fc" / "empty.pdf").write_bytes(b"")
    (quarantine / "link-0123456789ab").mkdir()
    (quarantine / "link-0123456789ab" / "link").symlink_to("/etc/passwd")
    (quarantine / "bomb-0123456789ab").mkdir()
    (quarantine / "bomb-0123456789ab" / "bomb.png").write_bytes(b"y" * 1000)
    usage = quarantine_usage(quarantine)
    assert (usage.entries, usage.bytes) == (3, 1000)  # a link is counted, never followed


# -- the server, scraped over HTTP ---------------------------------------------------------

def _process(settings: Settings, instance: dg.DagsterInstance, name: str, content: bytes) -> str:
    """Drop one file, register it and run its four assets in this process."""
    (settings.upload_dir / name).write_bytes(content)
    key = receive(settings.upload_dir, name, Records(settings.db_url)).key
    instance.add_dynamic_partitions(uploads_partitions.name, [key])
    dg.materialize(ASSETS, partition_key=key, instance=instance,
                   resources=build_resources(settings), raise_on_error=False)
    return key


def test_scrape_matches_what_was_made(settings: Settings) -> None:
    records = Records(settings.db_url)
    with dg.instance_for_test() as instance:
        for name, text in (("minutes.txt", "Minutes of the meeting"), ("memo.txt", "A memo")):
            _process(settings, instance, name, f"{text}\n".encode())
        _process(settings, instance, "empty.pdf", b"")
        # Registered and not yet processed, then one the sensor has not seen yet.
        (settings.upload_dir / "letter.txt").write_bytes(b"Dear reader\n")
        registered = receive(settings.upload_dir, "letter.txt", records).key
        (settings.upload_dir / "later.txt").write_bytes(b"Still settling\n")
        records.ledger.claim(registered, "processed", "Processed letter.txt")  # never sent
        for status in (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.QUEUED,
                       dg.DagsterRunStatus.STARTED):
            add_run(instance, PROCESS_JOB, status)
        add_run(instance, "resend_notifications", dg.DagsterRunStatus.QUEUED)

        with serve(settings, "127.0.0.1", 0, instance=lambda: instance) as server:
            assert server.url == f"http://127.0.0.1:{server.port}/metrics"
            text = scrape(server.url)
            openmetrics = scrape(server.url, accept="application/openmetrics-text")

    got = samples_of(text)
    assert value(got, "fileproc_up") == 1
    assert value(got, "fileproc_files", state="done", type="document") == 2
    assert value(got, "fileproc_files", state="quarantined", type="unknown") == 1
    assert value(got, "fileproc_files", state="received", type="unknown") == 1
    assert value(got, "fileproc_files", state="failed", type="audio") == 0  # every state shown
    assert sum(v for (name, _), v in got.items() if name == "fileproc_files") == 4
    assert value(got, "fileproc_uploads_waiting") == 1
    assert value(got, "fileproc_uploads_pending") == 1
    assert value(got, "fileproc_notifications_owed") == 1
    assert value(got, "fileproc_quarantine_entries") == 1
    assert value(got, "fileproc_quarantine_bytes") == 0
    assert value(got, "fileproc_dagster_up") == 1
    assert value(got, "fileproc_dagster_runs", job=PROCESS_JOB, status="queued") == 2
    assert value(got, "fileproc_dagster_runs", job=PROCESS_JOB, status="started") == 1
    assert value(got, "fileproc_dagster_runs", job=PROCESS_JOB, status="starting") == 0
    assert 0 <= value(got, "fileproc_dagster_oldest_queued_run_seconds") < 600
    # Both text files went from registration to done within the minute.
    bucket = "fileproc_file_processing_seconds_bucket"
    assert value(got, bucket, type="document", le="+Inf") == 2
    assert value(got, bucket, type="document", le="60.0") == 2
    assert value(got, bucket, type="image", le="+Inf") == 0
    assert value(got, "fileproc_file_processing_seconds_gcount", type="document") == 2
    assert 0 < value(got, "fileproc_scrape_duration_seconds") < 60
    # Prometheus asks for OpenMetrics first: there the histogram is a gauge histogram.
    families = {f.name: f for f in openmetrics_families(openmetrics)}
    assert families["fileproc_file_processing_seconds"].type == "gaugehistogram"
    assert families["fileproc_files"].type == "gauge"


def test_database_down_is_up_zero_not_an_error(settings: Settings) -> None:
    down = Records(f"postgresql://postgres@127.0.0.1:{free_port()}/fileproc")
    with serve(settings, "127.0.0.1", 0, records=down, instance=dg.DagsterInstance.ephemeral
               ) as server:
        got = samples_of(scrape(server.url))
    assert got == {("fileproc_up", frozenset()): 0}


def test_dagster_down_leaves_the_records_metrics(settings: Settings) -> None:
    def broken() -> dg.DagsterInstance:
        raise dg.DagsterInvariantViolationError("no instance here")

    with serve(settings, "127.0.0.1", 0, instance=broken) as server:
        got = samples_of(scrape(server.url))
    assert value(got, "fileproc_up") == 1 and value(got, "fileproc_dagster_up") == 0
    assert value(got, "fileproc_files", state="done", type="document") == 0
    assert not any(name.startswith("fileproc_dagster_runs") for name, _ in got)


def test_job_name_is_the_process_file_job() -> None:
    from fileproc_dagster.defs.jobs import process_file

    assert process_file.name == PROCESS_JOB


# -- the command ---------------------------------------------------------------------------

def _until(ready: Callable[[], Any], timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return ready()
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_command_serves_metrics(settings: Settings) -> None:
    (settings.upload_dir / "waiting.txt").write_bytes(b"not registered yet\n")
    port = free_port()
    env = {**os.environ, "FILEPROC_HOME": str(settings.home)}
    command = shutil.which("fileproc", path=str(Path(sys.executable).parent))
    assert command is not None
    server = subprocess.Popen([command, "metrics", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        text = _until(lambda: scrape(f"http://127.0.0.1:{port}/metrics"), timeout_s=120)
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert f"serving Prometheus metrics on http://127.0.0.1:{port}/metrics" in out
    got = samples_of(text)
    assert value(got, "fileproc_up") == 1
    assert value(got, "fileproc_uploads_waiting") == 1
    # The configured instance: the embedded default's DAGSTER_HOME, made by the command.
    assert value(got, "fileproc_dagster_up") == 1
    assert value(got, "fileproc_dagster_runs", job=PROCESS_JOB, status="queued") == 0
    assert (settings.dagster_home / "dagster.yaml").is_file()


def test_command_reports_a_port_in_use(settings: Settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = str(Path(sys.executable).parent / "fileproc")
        result = subprocess.run([command, "metrics", "--port", str(port)], capture_output=True,
                                text=True, timeout=120,
                                env={**os.environ, "FILEPROC_HOME": str(settings.home)})
    assert result.returncode == 1
    assert f"cannot serve metrics on 127.0.0.1:{port}" in result.stderr

