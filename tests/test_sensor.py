"""The upload sensor, through Dagster's own sensor context: one case per cursor state."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from datetime import UTC, datetime

import dagster as dg

from fileproc_dagster.defs._dagster_compat import partition_range
from fileproc_dagster.defs.resources import BatchingResource
from fileproc_dagster.defs.sensors import build_upload_sensor
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.schema import contents as contents_table
from fileproc_dagster.storage.schema import uploads as uploads_table
from fileproc_dagster.storage.states import State
from support.resources import fileproc_of


def _tick(settings: Settings, instance: dg.DagsterInstance, cursor: str | None,
          parallel_runs: int = 2, settle_s: float = 3600.0) -> dg.SensorResult:
    """One evaluation; by default every file needs two looks (nothing settles in an hour)."""
    sensor = build_upload_sensor(3)
    fileproc = fileproc_of(replace(settings, settle_s=settle_s), batching=BatchingResource(
        max_batch=50, parallel_runs=parallel_runs))
    with dg.build_sensor_context(instance=instance, cursor=cursor,
                                 resources={"fileproc": fileproc}) as context:
        result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def _ranges(result: dg.SensorResult) -> list[tuple[str, str]]:
    return [bounds for r in result.run_requests or []
            if (bounds := partition_range(r.tags)) is not None]


def _added(result: dg.SensorResult) -> list[str]:
    return [k for req in result.dynamic_partitions_requests or []
            for k in req.partition_keys or []]


def test_new_file_is_requested_on_the_second_look(settings: Settings) -> None:
    (settings.upload_dir / "memo.txt").write_text("hello")
    with dg.instance_for_test() as instance:
        first = _tick(settings, instance, None)
        assert first.run_requests == []
        assert "memo.txt" in json.loads(first.cursor or "")["waiting"]
        second = _tick(settings, instance, first.cursor)
        [key] = _added(second)
        assert key.startswith("memo-") and _ranges(second) == [(key, key)]
        assert json.loads(second.cursor or "") == {"waiting": {}, "through": 1}
        # Re-evaluation: the file is registered and requested, nothing is requested again.
        third = _tick(settings, instance, second.cursor)
        assert third.run_requests == [] and third.dynamic_partitions_requests == []


def test_settled_file_is_requested_on_the_first_look(settings: Settings) -> None:
    (settings.upload_dir / "old.txt").write_text("written a while ago")
    time.sleep(0.6)
    with dg.instance_for_test() as instance:
        started = time.monotonic()
        first = _tick(settings, instance, None, settle_s=0.5)
        assert time.monotonic() - started < 0.4  # nothing to wait for
        assert [k.split("-")[0] for k in _added(first)] == ["old"]
        # A file about to settle is waited for within the tick, not left for the next one.
        (settings.upload_dir / "fresh.txt").write_text("just written")
        started = time.monotonic()
        second = _tick(settings, instance, first.cursor, settle_s=0.5)
        assert 0.3 < time.monotonic() - started < 3
        assert [k.split("-")[0] for k in _added(second)] == ["fresh"]


def test_partial_and_temporary_files_are_left_alone(settings: Settings) -> None:
    growing = settings.upload_dir / "big.pdf"
    growing.write_bytes(b"%PDF-1.7 start")
    for name in ("a.part", ".hidden", "b.tmp", "c.crdownload", "d~"):
        (settings.upload_dir / name).write_text("x")
    with dg.instance_for_test() as instance:
        first = _tick(settings, instance, None)
        with open(growing, "ab") as handle:  # still being written between the two looks
            handle.write(b" more bytes")
        os.utime(growing, ns=(time.time_ns(), time.time_ns()))
        second = _tick(settings, instance, first.cursor)
        assert second.run_requests == []
        assert set(json.loads(second.cursor or "")["waiting"]) == {"big.pdf"}
        third = _tick(settings, instance, second.cursor)
        assert [k[:4] for k in _added(third)] == ["big-"]


def test_entries_that_are_not_files_are_refused_unread(settings: Settings) -> None:
    (settings.upload_dir / "folder.pdf").mkdir()
    (settings.upload_dir / "link.txt").symlink_to("/etc/hostname")
    with dg.instance_for_test() as instance:
        result = _tick(settings, instance, _tick(settings, instance, None).cursor)
    records = {r.name: r for r in Records(settings.db_url).files.all()}
    assert {n: r.state for n, r in records.items()} == {
        "folder.pdf": "quarantined", "link.txt": "quarantined"}
    assert "directory" in (records["folder.pdf"].error or "")
    assert "link" in (records["link.txt"].error or "")
    assert (settings.quarantine_dir / records["link.txt"].key / "link.txt").is_symlink()
    assert os.listdir(settings.upload_dir) == []
    # Each gets a partition and a run of its own that shows the refusal in the UI.
    assert sorted(_added(result)) == sorted(r.key for r in records.values())
    assert all(r.tags.get("fileproc/verdict") for r in result.run_requests or [])


def test_new_files_are_batched_into_contiguous_ranges(settings: Settings) -> None:
    for i in range(5):
        (settings.upload_dir / f"note{i}.txt").write_text(f"note {i}")
    with dg.instance_for_test() as instance:
        result = _tick(settings, instance, _tick(settings, instance, None).cursor)
    keys = _added(result)
    assert len(keys) == 5
    # Two runs for two cores, covering the new partitions in the order they were added.
    assert _ranges(result) == [(keys[0], keys[2]), (keys[3], keys[4])]
    assert len({r.run_key for r in result.run_requests or []}) == 2


def test_duplicate_upload_maps_to_the_existing_record(settings: Settings) -> None:
    (settings.upload_dir / "one.txt").write_text("same bytes")
    (settings.upload_dir / "two.txt").write_text("same bytes")
    with dg.instance_for_test() as instance:
        cursor = _tick(settings, instance, None).cursor
        result = _tick(settings, instance, cursor)
    [key] = _added(result)
    assert _ranges(result) == [(key, key)]
    duplicates = [r for r in result.run_requests or [] if r.tags.get("fileproc/duplicate")]
    assert [r.partition_key for r in duplicates] == [key]
    records = Records(settings.db_url)  # one content, two uploads; the record step inserts
    assert [u.name for u in records.uploads.pending(key)] == ["one.txt", "two.txt"]
    assert records.files.all() == [] and records.files.counts() == {(State.RECEIVED, None): 1}


def test_a_tick_that_died_is_requested_again_under_the_same_keys(settings: Settings) -> None:
    (settings.upload_dir / "memo.txt").write_text("hello")
    with dg.instance_for_test() as instance:
        cursor = _tick(settings, instance, None).cursor
        lost = _tick(settings, instance, cursor)  # registered, but its result never applied
        again = _tick(settings, instance, cursor)
    assert again.run_requests and lost.run_requests
    assert [r.run_key for r in again.run_requests] == [r.run_key for r in lost.run_requests]
    assert _added(again) == _added(lost)


def test_failures_inside_a_batch_get_a_run_of_their_own(settings: Settings) -> None:
    records = Records(settings.db_url)
    key = records.uploads.receive("bad-abababababab", "bad.pdf", "ab" * 32, 1, 1).key
    records.files.fail(key, "empty file", state="quarantined")
    records.files.flag_verdicts([key])
    with dg.instance_for_test() as instance:
        result = _tick(settings, instance, json.dumps({"through": 1}))
        [request] = result.run_requests or []
        assert request.partition_key == key and request.tags["fileproc/verdict"] == "true"
        assert _tick(settings, instance, result.cursor).run_requests == []


def test_ten_thousand_registered_files_make_a_cheap_tick(settings: Settings) -> None:
    records = Records(settings.db_url)
    now = datetime.now(UTC)
    rows, uploads = [], []
    for i in range(10_000):
        name = f"f{i}.txt"
        (settings.upload_dir / name).write_text(str(i))
        key, sha = f"f{i}-{i:012d}", f"{i:064d}"
        rows.append(dict(key=key, name=name, size=1, sha256=sha, received_at=now))
        uploads.append(dict(key=key, name=name, size=1, mtime_ns=i, state="pending",
                            duplicate=False, received_at=now))
    with records.db.engine.begin() as conn:  # registered in bulk: the test is about the tick
        conn.execute(contents_table.insert(), rows)
        conn.execute(uploads_table.insert(), uploads)
    (settings.upload_dir / "new.txt").write_text("new")
    with dg.instance_for_test() as instance:
        started = time.perf_counter()
        first = _tick(settings, instance, json.dumps({"through": 10_000}))
        elapsed = time.perf_counter() - started
        assert first.run_requests == []
        assert set(json.loads(first.cursor or "")["waiting"]) == {"new.txt"}
        second = _tick(settings, instance, first.cursor)
    assert [k[:4] for k in _added(second)] == ["new-"]
    # Not a timing test on a shared machine: only that the tick is far from Dagster's 60 s.
    assert elapsed < 30
