"""Retiring long-finished files from the partitions: records stay, nothing in flight goes."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from fileproc_dagster.definitions import ASSETS, build_definitions, build_resources
from fileproc_dagster.defs._dagster_compat import partition_range_tags
from fileproc_dagster.defs.partitions import UPLOADS
from fileproc_dagster.defs.resources import BatchingResource
from fileproc_dagster.defs.retention import deletable_runs, hold_back
from fileproc_dagster.defs.sensors import build_upload_sensor
from fileproc_dagster.intake.admit import receive
from fileproc_dagster.intake.release import release
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.objects import LocalObjectStore
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.retention import parse_after_days, retirable
from fileproc_dagster.storage.schema import files as files_table
from fileproc_dagster.storage.states import FLOW, State
from support.resources import fileproc_of
from support.runs import add_run

LONG_AGO = timedelta(days=60)


def _age(records: Records, keys: list[str], by: timedelta = LONG_AGO) -> None:
    """Make these records look finished ``by`` ago."""
    with records.db.engine.begin() as conn:
        conn.execute(files_table.update().where(files_table.c.key.in_(keys))
                     .values(updated_at=datetime.now(UTC) - by))


def _sha(name: str) -> str:
    return name.encode().hex().ljust(64, "0")[:64]


def _register(records: Records, name: str, state: State | None) -> str:
    """A registered upload whose record reached ``state`` (None: not recorded yet)."""
    key = records.uploads.receive(f"{name}-{_sha(name)[:12]}", name, _sha(name), 1, 1).key
    if state in (State.FAILED, State.QUARANTINED):
        records.files.insert(key, State.RECEIVED)
        records.files.fail(key, "bad", state=state)
    elif state is not None:
        records.files.insert(key, State.RECEIVED)
        for step in (State.STORED, State.DESCRIBED, State.DONE)[:FLOW.index(state)]:
            records.files.advance(key, step)
    return key


def test_retirable_are_files_that_ended_long_ago_with_nothing_waiting(records: Records) -> None:
    keys = {name: _register(records, name, state) for name, state in (
        ("done", State.DONE), ("quarantined", State.QUARANTINED), ("failed", State.FAILED),
        ("described", State.DESCRIBED), ("registered", None), ("recent", State.DONE),
        ("waiting", State.DONE), ("verdict", State.QUARANTINED))}
    for key in keys.values():  # the first uploads are finished, deleted or moved aside
        for upload in records.uploads.pending(key):
            records.uploads.set_state(upload.id, "deleted")
    _age(records, [k for name, k in keys.items() if name != "recent"])
    # A second upload of the same content still waits in the upload directory.
    records.uploads.receive(keys["waiting"], "waiting again", _sha("waiting"), 1, 2)
    records.files.flag_verdicts([keys["verdict"]])
    order = list(keys.values()) + ["never-registered-000000000000"]
    cutoff = datetime.now(UTC) - timedelta(days=30)
    assert retirable(records, order, cutoff) == [keys["done"], keys["quarantined"]]
    assert retirable(records, order, cutoff, limit=1) == [keys["done"]]
    # Once the verdict run is requested, the quarantined file may go too.
    records.files.take_verdicts()
    assert keys["verdict"] in retirable(records, order, cutoff)
    assert retirable(records, order, datetime.now(UTC) - timedelta(days=90)) == []


def test_retire_after_days_is_read_from_the_environment() -> None:
    assert parse_after_days(None) == parse_after_days("") == 30.0
    assert parse_after_days("0") == 0.0 and parse_after_days(" 7.5 ") == 7.5
    assert parse_after_days("off") is None and parse_after_days("Never") is None
    for bad in ("-1", "soon", "nan"):
        with pytest.raises(ValueError, match="FILEPROC_RETIRE_AFTER_DAYS"):
            parse_after_days(bad)
    assert Settings.from_env({"FILEPROC_HOME": "/tmp/x",
                              "FILEPROC_RETIRE_AFTER_DAYS": "off"}).retire_after_days is None


def test_retirement_runs_every_hour_by_default(settings: Settings) -> None:
    loaded = build_definitions(replace(settings, retire_after_days=7.0))
    schedule = loaded.resolve_schedule_def("retire_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.cron_schedule == "17 * * * *" and schedule.job_name == "retire_partitions"
    assert loaded.resources["retention"].after_days == 7.0  # type: ignore[union-attr]


def _drop(settings: Settings, name: str, text: str) -> None:
    (settings.upload_dir / name).write_text(text)


def _process(settings: Settings, instance: dg.DagsterInstance, names: list[str]) -> list[str]:
    """Register the uploads and process them in one run over their range, as the sensor
    would have them processed."""
    records = Records(settings.db_url)
    keys = [receive(settings.upload_dir, name, records).key for name in names]
    instance.add_dynamic_partitions(UPLOADS, keys)
    result = dg.materialize(ASSETS, instance=instance, resources=build_resources(settings),
                            tags=partition_range_tags(keys[0], keys[-1]))
    assert result.success
    return keys


def _retire(settings: Settings, instance: dg.DagsterInstance,
            after_days: float | None = None) -> dg.ExecuteInProcessResult:
    job = build_definitions(settings).resolve_job_def("retire_partitions")
    config = {} if after_days is None else {"after_days": after_days}
    result = job.execute_in_process(instance=instance,
                                    run_config={"ops": {"retire_finished": {"config": config}}})
    assert result.success
    return result


def _tick(settings: Settings, instance: dg.DagsterInstance, cursor: str | None
          ) -> dg.SensorResult:
    fileproc = fileproc_of(replace(settings, settle_s=0.0),
                           batching=BatchingResource(max_batch=50, parallel_runs=1))
    with dg.build_sensor_context(instance=instance, cursor=cursor,
                                 resources={"fileproc": fileproc}) as context:
        result = build_upload_sensor(3)(context)
    assert isinstance(result, dg.SensorResult)
    return result


def test_a_retired_file_leaves_the_partitions_and_keeps_its_record(settings: Settings) -> None:
    _drop(settings, "minutes.txt", "Minutes of the annual general meeting of the rowing club.")
    _drop(settings, "empty.txt", "")
    _drop(settings, "memo.txt", "A memo about the oak staircase of the old library.")
    records = Records(settings.db_url)
    with dg.instance_for_test() as instance:
        keys = _process(settings, instance, ["minutes.txt", "empty.txt", "memo.txt"])
        [run] = instance.get_runs()
        assert [records.files.get(k).state for k in keys] == [  # type: ignore[union-attr]
            "done", "quarantined", "done"]
        _age(records, keys)
        # Finished 60 days ago, but their run ended just now: they go with it, later.
        assert _retire(settings, instance).output_for_node("retire_finished") == 0
        # The quarantined file still owes its verdict run: the run keeps all three.
        assert _retire(settings, instance, after_days=0).output_for_node("retire_finished") == 0
        assert list(instance.get_dynamic_partitions(UPLOADS)) == keys
        records.files.take_verdicts()
        assert _retire(settings, instance, after_days=0).output_for_node("retire_finished") == 3
        assert list(instance.get_dynamic_partitions(UPLOADS)) == []
        assert not instance.has_run(run.run_id)  # deleted with the files it covered
        assert len(instance.get_runs()) == 3  # the retirement runs themselves
    record = records.files.get(keys[0])
    assert record is not None and record.state == "done" and record.location
    assert [r.key for r in records.files.search("rowing club")] == [keys[0]]
    with LocalObjectStore(settings.store_dir).open(record.sha256) as stored:
        assert b"rowing club" in stored.read()
    shown = subprocess.run(
        [sys.executable, "-m", "fileproc_dagster.app.cli", "show", keys[0], "--json"],
        env={"FILEPROC_HOME": str(settings.home), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=300, check=True)
    assert json.loads(shown.stdout)["state"] == "done"
    assert (settings.quarantine_dir / keys[1] / "empty.txt").exists()


def _range_run(start: str, end: str) -> dg.DagsterRun:
    return dg.DagsterRun(job_name="process_file", tags=partition_range_tags(start, end))


def test_a_run_is_retired_whole_except_for_a_failed_file() -> None:
    keys = ["a", "b", "c", "d", "e"]
    order = {k: i for i, k in enumerate(keys)}
    runs = [_range_run("a", "b"), _range_run("c", "e")]
    # "d" is not retirable (in flight): its run keeps c and e too.
    assert hold_back(runs, order, keys, {"a", "b", "c", "e"}, failed=set()) == {"a", "b"}
    # "d" failed: it stays, the others of its run go.
    assert hold_back(runs, order, keys, {"a", "b", "c", "e"}, failed={"d"}) == {
        "a", "b", "c", "e"}
    # Overlapping runs hold each other's keys back.
    overlapping = [*runs, _range_run("b", "c")]
    assert hold_back(overlapping, order, keys, {"a", "b", "c", "e"}, failed=set()) == set()
    # Runs go when all they cover is gone: retired now, or (process_file) before.
    single = dg.DagsterRun(job_name="process_file", tags={"dagster/partition": "gone"})
    assert deletable_runs([*runs, single], order, keys, {"a", "b"}) == [
        runs[0].run_id, single.run_id]


def test_nothing_in_flight_is_retired(settings: Settings) -> None:
    _drop(settings, "one.txt", "The first of two letters to the parish council.")
    _drop(settings, "two.txt", "The second of two letters to the parish council.")
    records = Records(settings.db_url)
    with dg.instance_for_test() as instance:
        keys = [_process(settings, instance, [name])[0] for name in ("one.txt", "two.txt")]
        # The same content as one.txt arrives again: registered, waiting for its run.
        _drop(settings, "one again.txt", "The first of two letters to the parish council.")
        assert receive(settings.upload_dir, "one again.txt", records).key == keys[0]
        # A queued run (a backfill re-describing two.txt, say) covers the other one.
        add_run(instance, "process_file", dg.DagsterRunStatus.QUEUED,
                tags={"dagster/partition": keys[1]})
        assert _retire(settings, instance, after_days=0).output_for_node("retire_finished") == 0
        assert list(instance.get_dynamic_partitions(UPLOADS)) == keys
        # Retirement off: nothing goes, whatever its age.
        settings_off = replace(settings, retire_after_days=None)
        assert _retire(settings_off, instance).output_for_node("retire_finished") == 0


def test_content_uploaded_again_after_retirement_is_handled(settings: Settings) -> None:
    text = "Quotation for fitted shelving in oak veneer, delivery within ten days."
    _drop(settings, "quote.txt", text)
    _drop(settings, "broken.txt", "")
    records = Records(settings.db_url)
    with dg.instance_for_test() as instance:
        key, bad = _process(settings, instance, ["quote.txt", "broken.txt"])
        records.files.take_verdicts()
        _retire(settings, instance, after_days=0)
        assert list(instance.get_dynamic_partitions(UPLOADS)) == []
        # The same bytes under another name, and the quarantined file released.
        _drop(settings, "quote copy.txt", text)
        release(settings.upload_dir, settings.quarantine_dir, bad, records)
        result = _tick(settings, instance, json.dumps({"through": 2}))
        added = [k for r in result.dynamic_partitions_requests or [] for k in r.partition_keys
                 or []]
        assert sorted(added) == sorted([key, bad])
        instance.add_dynamic_partitions(UPLOADS, added)
        [again] = [r for r in result.run_requests or [] if r.partition_key == key]
        assert again.tags["fileproc/duplicate"] == "true"
        rerun = dg.materialize(ASSETS, partition_key=key, instance=instance,
                               resources=build_resources(settings))
        assert rerun.success
        assert rerun.asset_materializations_for_node("file_description")[0] \
            .metadata["reused"].value is True
        assert not (settings.upload_dir / "quote copy.txt").exists()
        assert (settings.upload_dir / "broken.txt").exists()  # back for another try
        # Done again with nothing waiting: retired again, with the duplicate's run.
        _retire(settings, instance, after_days=0)
        assert list(instance.get_dynamic_partitions(UPLOADS)) == [bad]
        assert not instance.has_run(rerun.run_id)
    assert len(records.files.all()) == 2 and records.files.get(key).state == "done"  # type: ignore[union-attr]
    outbox = [json.loads(line)["event"] for line in settings.outbox.read_text().splitlines()]
    assert outbox.count("processed") == 1 and sum(e.startswith("duplicate") for e in outbox) == 1
