"""The code location loads, with the shape the UI shows."""

from __future__ import annotations

import dagster as dg

from fileproc_dagster.definitions import defs
from fileproc_dagster.settings import Settings


def test_definitions_load(settings: Settings) -> None:
    loaded = defs()
    job = loaded.resolve_job_def("process_file")
    assert [n.name for n in job.graph.nodes_in_topological_order] == [
        "stored_object", "file_record", "file_description", "processed_file"]
    sensor = loaded.resolve_sensor_def("upload_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds is not None and sensor.minimum_interval_seconds <= 5
    for node in job.graph.nodes:
        assert node.definition.retry_policy is not None, node.name
    assets = loaded.resolve_all_asset_specs()
    assert all(spec.description for spec in assets)
    assert {spec.partitions_def.name for spec in assets} == {"uploads"}  # type: ignore[union-attr]


def test_every_path_comes_from_fileproc_home(settings: Settings) -> None:
    for path in (settings.upload_dir, settings.store_dir, settings.quarantine_dir,
                 settings.outbox, settings.dagster_home):
        assert path.is_relative_to(settings.home)
    assert settings.db_url == f"sqlite:///{settings.home / 'records.db'}"
