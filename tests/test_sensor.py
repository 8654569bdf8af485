"""The upload sensor, through Dagster's own sensor context: one case per cursor state."""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime

import dagster as dg

from fileproc_dagster.definitions import build_resources
from fileproc_dagster.defs.sensors import build_upload_sensor
from fileproc_dagster.records import RecordStore
from fileproc_dagster.records import files as files_table
from fileproc_dagster.records import uploads as uploads_table
from fileproc_dagster.settings import Settings


def _tick(settings: Settings, instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult:
    sensor = build_upload_sensor(3)
    resources = build_resources(settings)
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor,
        resources={"uploads": resources["uploads"], "records": resources["records"]})
    result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def test_new_file_is_requested_on_the_second_look(settings: Settings) -> None:
    (settings.upload_dir / "memo.txt").write_text("hello")
    with dg.instance_for_test() as instance:
        first = _tick(settings, instance, None)
        assert first.run_requests == [] and "memo.txt" in json.loads(first.cursor or "")
        second = _tick(settings, instance, first.cursor)
        assert len(second.run_requests or []) == 1
        request = (second.run_requests or [])[0]
        assert request.partition_key and request.partition_key.startswith("memo-")
        assert second.dynamic_partitions_requests[0].partition_keys == [request.partition_key]
        assert json.loads(second.cursor or "") == {}
        # Re-evaluation: the file is registered, nothing is requested again.
        third = _tick(settings, instance, second.cursor)
        assert third.run_requests == [] and third.dynamic_partitions_requests == []


def test_partial_and_temporary_files_are_left_alone(settings: Settings) -> None:
    growing = settings.upload_dir / "big.pdf"
    growing.write_bytes(b"%PDF-1.7 start")
    for name in ("a.part", ".hidden", "b.tmp", "c.crdownload", "d~"):
        (settings.upload_dir / name).write_text("x")
    (settings.upload_dir / "folder.pdf").mkdir()
    with dg.instance_for_test() as instance:
        first = _tick(settings, instance, None)
        with open(growing, "ab") as handle:  # still being written between the two looks
            handle.write(b" more bytes")
        os.utime(growing, ns=(time.time_ns(), time.time_ns()))
        second = _tick(settings, instance, first.cursor)
        assert second.run_requests == []
        assert set(json.loads(second.cursor or "")) == {"big.pdf"}
        third = _tick(settings, instance, second.cursor)
        assert [r.partition_key for r in third.run_requests or []][0].startswith("big-")


def test_duplicate_upload_maps_to_the_existing_record(settings: Settings) -> None:
    (settings.upload_dir / "one.txt").write_text("same bytes")
    (settings.upload_dir / "two.txt").write_text("same bytes")
    with dg.instance_for_test() as instance:
        cursor = _tick(settings, instance, None).cursor
        result = _tick(settings, instance, cursor)
    keys = {r.partition_key for r in result.run_requests or []}
    assert len(keys) == 1 and len(result.run_requests or []) == 2
    assert len({r.run_key for r in result.run_requests or []}) == 2
    assert len(RecordStore(settings.db_url).records()) == 1


def test_ten_thousand_registered_files_make_a_cheap_tick(settings: Settings) -> None:
    records = RecordStore(settings.db_url)
    now = datetime.now(UTC)
    rows, uploads = [], []
    for i in range(10_000):
        name = f"f{i}.txt"
        (settings.upload_dir / name).write_text(str(i))
        key, sha = f"f{i}-{i:012d}", f"{i:064d}"
        rows.append(dict(key=key, uuid=str(uuid.uuid4()), name=name, size=1, sha256=sha,
                         state="received", created_at=now, updated_at=now))
        uploads.append(dict(key=key, name=name, size=1, mtime_ns=i, state="pending",
                            duplicate=False, received_at=now))
    with records.engine.begin() as conn:  # registered in bulk: the test is about the tick
        conn.execute(files_table.insert(), rows)
        conn.execute(uploads_table.insert(), uploads)
    (settings.upload_dir / "new.txt").write_text("new")
    with dg.instance_for_test() as instance:
        started = time.perf_counter()
        first = _tick(settings, instance, None)
        elapsed = time.perf_counter() - started
        assert set(json.loads(first.cursor or "")) == {"new.txt"}
        second = _tick(settings, instance, first.cursor)
    assert [(r.partition_key or "")[:4] for r in second.run_requests or []] == ["new-"]
    # Not a timing test on a shared machine: only that the tick is far from Dagster's 60 s.
    assert elapsed < 30
