"""Production on Celery: the executor chosen by configuration, the workers' config matching the
executor's, and the daemon-driven end-to-end run in production mode (PostgreSQL records and
instance, S3 on moto's server, Redis and two Celery workers, SMTP and webhook targets) giving
what the embedded default gives for the same files, measured."""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest
import yaml
from celery_env import (
    Production,
    batch,
    differences,
    embedded_reference,
    expected_records,
    production_outcome,
)
from daemon import drop, finished, leftovers, live_runs, run_partitions, running

from fileproc_dagster.defs._dagster_compat import step_engine_events
from fileproc_dagster.defs.execution import CELERY_SETTINGS, EXTRACTION_POOL, EXTRACTION_QUEUE
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.files import Record
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.states import State
from support.celery_workers import WORKER_CONFIG
from support.production import DEPLOY, CpuMeter, Webserver, comparable, postmaster_pid, workers

# The Celery workers of these tests share one Redis database: one xdist process runs them.
pytestmark = pytest.mark.xdist_group("redis")

QUEUE = re.compile(r'to queue "([^"]+)"')


def test_the_executor_is_chosen_by_configuration(settings: Settings,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from fileproc_dagster.definitions import defs

    assert defs().resolve_job_def("process_file").executor_def.name == "in_process"
    monkeypatch.setenv("FILEPROC_EXECUTOR", "celery")
    with pytest.raises(ValueError, match="FILEPROC_CELERY_BROKER and FILEPROC_CELERY_BACKEND"):
        defs()
    monkeypatch.setenv("FILEPROC_CELERY_BROKER", "redis://:secret@127.0.0.1:6379/3")
    monkeypatch.setenv("FILEPROC_CELERY_BACKEND", "redis://:secret@127.0.0.1:6379/3")
    loaded = defs()
    job = loaded.resolve_job_def("process_file")
    assert job.executor_def.name == "celery"
    nodes = {node.name: node.definition for node in job.graph.nodes}
    assert nodes["file_description"].tags["dagster-celery/queue"] == EXTRACTION_QUEUE
    assert nodes["file_description"].pool == EXTRACTION_POOL
    assert all("dagster-celery/queue" not in d.tags for n, d in nodes.items()
               if n != "file_description")  # the light steps: Celery's default queue
    # The jobs that touch only local directories stay in their run worker.
    for other in ("release_quarantined", "resend_notifications"):
        assert loaded.resolve_job_def(other).executor_def.name == "in_process"
    monkeypatch.setenv("FILEPROC_EXECUTOR", "kubernetes")
    with pytest.raises(ValueError, match="in_process, celery"):
        defs()


def test_the_workers_config_matches_the_executors() -> None:
    config = yaml.safe_load(WORKER_CONFIG.read_text())["execution"]["config"]
    assert config["broker"] == {"env": "FILEPROC_CELERY_BROKER"}
    assert config["backend"] == {"env": "FILEPROC_CELERY_BACKEND"}
    assert config["config_source"] == CELERY_SETTINGS
    pools = yaml.safe_load(DEPLOY.read_text())["concurrency"]["pools"]
    assert pools["granularity"] == "op" and pools["default_limit"] >= 1


def steps_by_worker(instance: dg.DagsterInstance) -> tuple[dict[str, Counter[str]],
                                                           dict[str, set[str]]]:
    """Files per worker for each step of the batches (not the quarantined files' own runs),
    and the queues each step was sent to."""
    files: dict[str, Counter[str]] = {}
    queues: dict[str, set[str]] = {}
    verdicts = {r.run_id for r in instance.get_runs(dg.RunsFilter(
        job_name="process_file", tags={"fileproc/verdict": "true"}))}
    for run_id, keys in run_partitions(instance).items():
        if run_id in verdicts:
            continue
        for step, message, metadata in step_engine_events(instance, run_id):
            if "Celery worker" in metadata:
                name = metadata["Celery worker"].split("@")[0]
                files.setdefault(step, Counter())[name] += len(keys)
            if (queue := QUEUE.search(message)) is not None:
                queues.setdefault(step, set()).add(queue.group(1))
    return files, queues


def test_the_comparison_leaves_out_only_the_durations_of_the_run() -> None:
    def record(**details: object) -> Record:
        return Record(uuid=str(uuid.uuid4()), key="k", name="a.wav", type="audio", size=9,
                      sha256="ab12", location="file:///store/objects/ab/ab12", state=State.DONE,
                      description="Audio 2.0 s", text="hello", error=None,
                      details={"duration_s": 2.0, "speech_s": 1.5, **details})

    timed = {"transcribe_s": 0.89, "extraction_seconds": 1.2, "ocr_seconds": 0.4,
             "ocr_pages": [{"page": 1, "words": 3, "seconds": 0.4}]}
    retimed = {"transcribe_s": 0.73, "extraction_seconds": 0.9, "ocr_seconds": 0.5,
               "ocr_pages": [{"page": 1, "words": 3, "seconds": 0.5}]}
    assert differences({"k": comparable(record(**timed))},
                       {"k": comparable(record(**retimed))}) == []
    # Facts of the file still count, however their keys end.
    for fact in ({"duration_s": 2.5}, {"speech_s": 1.0}, {"declared_duration_s": 9.0},
                 {"ocr_pages": [{"page": 1, "words": 4, "seconds": 0.4}]}):
        assert differences({"k": comparable(record(**timed))},
                           {"k": comparable(record(**{**timed, **fact}))}) != [], fact


@pytest.mark.slow
def test_production_on_celery_matches_the_embedded_default(
        production: Production, tmp_path: Path) -> None:
    files = batch(tmp_path / "batch")
    reference = embedded_reference(files, tmp_path / "embedded")
    settings = production.settings
    with running(settings, production.env, dagster_yaml=DEPLOY) as daemon, \
            workers(daemon.env, settings.home) as pool:
        web = Webserver(daemon.env, settings.home / "webserver.log")
        try:
            web.wait_ready()
            meter = CpuMeter({"webserver": [web.process.pid],
                              "daemon": [daemon.process.pid],  # type: ignore[union-attr]
                              "workers": [w.process.pid for w in pool],  # type: ignore[misc]
                              "postgresql": [pid for pid in [postmaster_pid()] if pid]})
            meter.start()
            started = time.monotonic()
            for path in files:
                drop(settings, path)
            records = Records(settings.db_url)

            def done() -> object:
                web.runs_page()  # someone watching the Runs page meanwhile
                return finished(records, expected_records(files))

            daemon.wait_for("the batch to finish", done, 600, every_s=2)
            daemon.wait_for("the uploads to be deleted", lambda: not leftovers(settings), 60)
            elapsed = time.monotonic() - started
            used = meter.stop()
            with daemon.instance() as instance:  # quarantined files' own runs included
                daemon.wait_for("no run left going", lambda: not live_runs(instance), 120)
                per_worker, queues = steps_by_worker(instance)
                runs = instance.get_runs(dg.RunsFilter(job_name="process_file"))
        finally:
            web.stop()
    outcome = production_outcome(production)
    differ = differences(outcome.records, reference.records)
    assert not differ, "\n".join(differ)
    assert outcome.objects == reference.objects
    assert outcome.outbox == reference.outbox
    assert all(count == 1 for count in outcome.outbox.values()), outcome.outbox
    assert outcome.mails == outcome.hooks == Counter(m for (_, _, m) in reference.outbox)
    assert outcome.quarantined == reference.quarantined
    # Batches succeed; each quarantined file gets a run of its own that shows its failure.
    verdicts = [r for r in runs if r.tags.get("fileproc/verdict") == "true"]
    assert all(r.status == dg.DagsterRunStatus.FAILURE for r in verdicts)
    assert len(verdicts) == len(outcome.quarantined)
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs if r not in verdicts)
    assert queues["file_description"] == {EXTRACTION_QUEUE}
    assert {q for step, qs in queues.items() if step != "file_description" for q in qs} == {
        "dagster"}
    busy = {name for counter in per_worker.values() for name in counter}
    assert busy == {w.name for w in pool}, per_worker  # both workers took part of the burst
    n = len(files)
    print(f"\nproduction on Celery: {n} files in {elapsed:.1f} s ({elapsed / n:.2f} s per file), "
          f"{len(runs)} runs")
    print("CPU per file: " + ", ".join(f"{part} {seconds / n:.2f} s"
                                       for part, seconds in used.items()))
    for step, counter in per_worker.items():
        print(f"files per worker, {step}: {dict(sorted(counter.items()))}")
