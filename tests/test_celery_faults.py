"""Production on Celery through faults in the middle of one batch: the S3 server stopped and
started again on its port, a Celery worker SIGKILLed during an extraction, PostgreSQL (the
records and Dagster's instance) stopped for 10 s; every file still ends done (or quarantined)
exactly once, with one object, one record and one notification to each target."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest
from celery_env import Production, batch, expected_records
from daemon import finished, leftovers, live_runs, running
from test_celery import steps_by_worker

from fileproc_dagster.defs._dagster_compat import step_engine_events
from fileproc_dagster.storage.records import Records
from support import postgres as pg
from support.celery_workers import worker_config
from support.production import DEPLOY, workers

pytestmark = pytest.mark.slow
S3_OUTAGE_S = 8
PG_OUTAGE_S = 10
VISIBILITY_TIMEOUT_S = 30  # a killed worker's step goes to the other worker after this


def extracting_worker(instance: dg.DagsterInstance) -> str | None:
    """The node name of a worker that has started an extraction (first seen)."""
    for run in instance.get_runs(dg.RunsFilter(job_name="process_file")):
        for step, _, metadata in step_engine_events(instance, run.run_id):
            if step == "file_description" and "Celery worker" in metadata:
                return metadata["Celery worker"].split("@")[0]
    return None


@pytest.mark.serial
def test_a_batch_survives_a_killed_worker_and_s3_and_postgresql_restarts(
        production: Production, tmp_path: Path) -> None:
    reason = pg.controllable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must be able to stop and start PostgreSQL: {reason}")
        pytest.skip(f"cannot stop and start the PostgreSQL server here: {reason}")
    files = batch(tmp_path / "batch")
    settings, s3 = production.settings, production.s3
    assert settings.s3 is not None
    config = worker_config(tmp_path / "celery.yaml", VISIBILITY_TIMEOUT_S)
    objects_prefix = f"/{settings.s3.bucket}/prod/objects/"
    with running(settings, production.env, dagster_yaml=DEPLOY) as daemon, \
            workers(daemon.env, settings.home, config=config) as pool:
        for path in files:
            (settings.upload_dir / path.name).write_bytes(path.read_bytes())
        daemon.wait_for("a first object on S3", lambda: any(
            r.method == "PUT" and r.path.startswith(objects_prefix) for r in s3.requests),
            180, every_s=0.2)
        s3.stop()
        time.sleep(S3_OUTAGE_S)
        s3.start()
        with daemon.instance() as instance:
            victim = daemon.wait_for("an extraction on a worker",
                                     lambda: extracting_worker(instance), 300, every_s=0.3)
        next(w for w in pool if w.name == victim).kill()
        pg.stop()
        try:
            time.sleep(PG_OUTAGE_S)
        finally:
            pg.start()
        records = Records(settings.db_url)
        daemon.wait_for("the batch to finish", lambda: finished(records, expected_records(files)),
                            600,
                        every_s=2)
        daemon.wait_for("the uploads to be handled", lambda: not leftovers(settings), 120)
        with daemon.instance() as instance:
            daemon.wait_for("no run left going", lambda: not live_runs(instance), 120)
            per_worker, _ = steps_by_worker(instance)
        assert daemon.alive(), daemon.tail()
    every = records.files.all()
    states = Counter(r.state for r in every)
    uploaded = [r for r in every if r.parent_key is None]
    members = [r for r in every if r.parent_key is not None]
    assert len(uploaded) == len(files) and states["failed"] == 0, states
    assert len(every) == expected_records(files), every
    assert states["done"] >= 5 and states["quarantined"] == len(every) - states["done"]
    # The archives' members: files of their own, each once, each under an uploaded archive.
    archives = {r.key for r in uploaded if r.type == "archive"}
    assert members and {m.parent_key for m in members} <= archives, members
    done = [r for r in every if r.state == "done"]
    client = s3.client()
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=settings.s3.bucket) for o in page.get("Contents", [])]
    stored = sorted(k.rsplit("/", 1)[-1] for k in keys if "/objects/" in k)
    # Each content once; every done file's among them (a file found bad after it was stored,
    # by the record or description step, keeps its stored bytes too).
    assert len(stored) == len(set(stored)) and set(stored) <= {r.sha256 for r in every}
    assert {r.sha256 for r in done} <= set(stored)
    import json

    outbox = Counter((n["key"], n["event"]) for n in map(
        json.loads, settings.outbox.read_text().splitlines()))
    assert set(outbox.values()) == {1}, outbox
    assert {k for k, e in outbox if e == "processed"} == {r.key for r in done}
    assert len(production.mail.messages) == len(outbox), production.mail.messages
    assert sorted(production.hook.accepted) == sorted(m.text for m in production.mail.messages)
    print(f"\nkilled {victim} during an extraction; steps per worker (files): "
          + "; ".join(f"{step} {dict(c)}" for step, c in per_worker.items()))
