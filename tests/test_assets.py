"""The assets through Dagster's in-process ``materialize``, one partition at a time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import pytest

from fileproc_dagster.definitions import ASSETS, build_resources
from fileproc_dagster.defs._dagster_compat import partition_range_tags
from fileproc_dagster.defs.assets import file_record, stored_object
from fileproc_dagster.defs.partitions import uploads_partitions
from fileproc_dagster.intake.admit import receive
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Records


def _drop(settings: Settings, source: Path, instance: dg.DagsterInstance,
          name: str | None = None) -> str:
    shutil.copyfile(source, settings.upload_dir / (name or source.name))
    key = receive(settings.upload_dir, name or source.name, Records(settings.db_url)).key
    instance.add_dynamic_partitions(uploads_partitions.name, [key])
    return key


def _outbox(settings: Settings) -> list[dict[str, str]]:
    if not settings.outbox.exists():
        return []
    return [json.loads(line) for line in settings.outbox.read_text().splitlines()]


def test_stored_object_then_the_record_step(settings: Settings, samples: dict[str, Path]) -> None:
    with dg.instance_for_test() as instance:
        key = _drop(settings, samples["lending_policy"], instance)
        result = dg.materialize([stored_object], partition_key=key, instance=instance,
                                resources=build_resources(settings))
        metadata = result.asset_materializations_for_node("stored_object")[0].metadata
        assert Records(settings.db_url).files.get(key) is None  # the record step comes next
        location = str(metadata["location"].value)  # a path a person can copy
        assert Path(location).read_bytes() == \
            samples["lending_policy"].read_bytes()
        assert metadata["stored"].value == "uploaded"
        result = dg.materialize([file_record], partition_key=key, instance=instance,
                                resources=build_resources(settings))
        metadata = result.asset_materializations_for_node("file_record")[0].metadata
    record = Records(settings.db_url).files.get(key)
    assert record is not None and record.state == "stored"  # inserted by the record step
    assert (record.type, record.mime) == ("document", "application/pdf")
    # Shown as a path a person can copy: a page cannot open file:// links.
    assert ((record.location or "").removeprefix("file://"), metadata["record_id"].value) == (
        location, record.uuid)
    assert "pdf" in str(metadata["detected"].value).lower()


@pytest.mark.parametrize("sample,kind,words", [
    ("notice_scan", "document", ["annual", "general", "meeting"]),
    ("lending_policy", "document", ["borrow", "renewed"]),
    ("hills_photo", "image", []),
    ("delivery_message", "audio", ["delivery", "monday"]),
])
def test_whole_pipeline_then_rerun_is_idempotent(settings: Settings, samples: dict[str, Path],
                                                sample: str, kind: str, words: list[str]) -> None:
    with dg.instance_for_test() as instance:
        key = _drop(settings, samples[sample], instance)
        first = dg.materialize(ASSETS, partition_key=key, instance=instance,
                               resources=build_resources(settings))
        assert first.success
        record = Records(settings.db_url).files.get(key)
        assert record is not None and (record.state, record.type) == ("done", kind)
        assert all(w in (record.text or "").lower() for w in words), record.text
        assert record.description and record.details
        assert not (settings.upload_dir / samples[sample].name).exists()
        # A second run (a retry, a re-execution from the UI) changes nothing and notifies nobody.
        again = dg.materialize(ASSETS, partition_key=key, instance=instance,
                               resources=build_resources(settings))
        assert again.success
        assert Records(settings.db_url).files.get(key) == record
        materializations = again.asset_materializations_for_node("file_description")
        assert materializations[0].metadata["reused"].value is True
    messages = [n["message"] for n in _outbox(settings)]
    stored = settings.store_dir.resolve() / "objects" / record.sha256[:2] / record.sha256
    assert stored.is_file()
    assert messages == [f"Processed {samples[sample].name} ({kind}) - db: {record.uuid}, "
                        f"store: {stored}"]


def test_bad_input_is_quarantined_not_retried(settings: Settings, tmp_path: Path) -> None:
    empty = tmp_path / "upload.pdf"
    empty.write_bytes(b"")
    with dg.instance_for_test() as instance:
        key = _drop(settings, empty, instance)
        result = dg.materialize(ASSETS, partition_key=key, instance=instance,
                                resources=build_resources(settings), raise_on_error=False)
        assert not result.success
        retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
        assert retries == []
    record = Records(settings.db_url).files.get(key)
    assert record is not None and record.state == "quarantined" and "empty" in (record.error or "")
    assert (settings.quarantine_dir / key / "upload.pdf").exists()
    assert not (settings.upload_dir / "upload.pdf").exists()


def test_duplicate_content_is_described_once(settings: Settings, samples: dict[str, Path]) -> None:
    with dg.instance_for_test() as instance:
        key = _drop(settings, samples["lending_policy"], instance)
        assert dg.materialize(ASSETS, partition_key=key, instance=instance,
                              resources=build_resources(settings)).success
        same = _drop(settings, samples["lending_policy"], instance, name="copy of policy.pdf")
        assert same == key
        rerun = dg.materialize(ASSETS, partition_key=key, instance=instance,
                               resources=build_resources(settings))
        assert rerun.asset_materializations_for_node("file_description")[0] \
            .metadata["reused"].value is True
    assert not (settings.upload_dir / "copy of policy.pdf").exists()
    assert [n["event"] for n in _outbox(settings)] == ["processed", "duplicate-2"]
    assert len(Records(settings.db_url).files.all()) == 1


@pytest.mark.slow
def test_extraction_timeout_stops_the_step(settings: Settings, samples: dict[str, Path]) -> None:
    config = {"ops": {"file_description": {"config": {"timeout_s": 0.01}}}}
    with dg.instance_for_test() as instance:
        key = _drop(settings, samples["notice_scan"], instance)
        result = dg.materialize(ASSETS, partition_key=key, instance=instance,
                                resources=build_resources(settings), run_config=config,
                                raise_on_error=False)
    assert not result.success
    failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
    assert "timeout" in str(failure.event_specific_data)
    record = Records(settings.db_url).files.get(key)
    assert record is not None and record.state == "failed" and "timeout" in (record.error or "")
    assert (settings.upload_dir / samples["notice_scan"].name).exists()  # kept for a retry


def test_one_run_processes_a_batch_and_isolates_bad_files(settings: Settings,
                                                          samples: dict[str, Path],
                                                          tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    sources = [samples["lending_policy"], empty, samples["hills_photo"]]
    with dg.instance_for_test() as instance:
        keys = [_drop(settings, source, instance) for source in sources]
        result = dg.materialize(ASSETS, instance=instance, resources=build_resources(settings),
                                tags=partition_range_tags(keys[0], keys[-1]))
        assert result.success
        described = result.asset_materializations_for_node("file_description")
        assert {m.partition for m in described} == set(keys)
        by_key = {m.partition: m.metadata for m in described}
        assert "words" in by_key[keys[0]] and "words" not in by_key[keys[1]]
        records = Records(settings.db_url)
        states = [records.files.get(k).state for k in keys]  # type: ignore[union-attr]
        assert states == ["done", "quarantined", "done"]
        # The bad file's own run reports the failure on its partition in Dagster.
        [verdict] = records.files.take_verdicts()
        assert verdict.key == keys[1]
        alone = dg.materialize(ASSETS, partition_key=keys[1], instance=instance,
                               resources=build_resources(settings), raise_on_error=False)
        assert not alone.success
        failure = [e for e in alone.all_events if e.event_type_value == "STEP_FAILURE"][0]
        assert "empty" in str(failure.event_specific_data)
    assert [n["event"] for n in _outbox(settings)].count("processed") == 2


def test_batch_cost_does_not_grow_with_the_partitions_behind_it(
        settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file's metadata in a batch, without re-reading every partition key per file
    (Dagster's check does, which made a batch O(files x partitions)): each step reads the
    keys once, whether the run holds 2 files or 6."""
    reads: list[str] = []
    original = dg.DagsterInstance.get_dynamic_partitions

    def counting(self: dg.DagsterInstance, partitions_def_name: str) -> list[str]:
        reads.append(partitions_def_name)
        return list(original(self, partitions_def_name))

    def batch(instance: dg.DagsterInstance, count: int) -> int:
        keys = []
        for i in range(count):
            source = tmp_path / f"note_{count}_{i}.txt"
            source.write_text(f"note {i} of a batch of {count}\n")
            keys.append(_drop(settings, source, instance))
        before = len(reads)
        result = dg.materialize(ASSETS, instance=instance, resources=build_resources(settings),
                                tags=partition_range_tags(keys[0], keys[-1]))
        assert result.success
        described = result.asset_materializations_for_node("file_description")
        assert {m.partition for m in described} == set(keys)
        assert all(m.metadata["words"].value >= 5 for m in described)  # type: ignore[operator]
        return len(reads) - before

    monkeypatch.setattr(dg.DagsterInstance, "get_dynamic_partitions", counting)
    with dg.instance_for_test() as instance:
        assert batch(instance, 2) == batch(instance, 6)
