"""The code location loads, with the shape the UI shows."""

from __future__ import annotations

import dagster as dg

from fileproc_dagster.definitions import ASSETS, defs
from fileproc_dagster.defs.resources import FileprocResource
from fileproc_dagster.hooks import NO_HOOKS
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


def test_every_asset_and_sensor_takes_the_one_composed_resource(settings: Settings) -> None:
    loaded = defs()
    assert "hooks" not in (loaded.resources or {})  # the fault seam is the tests' alone
    for asset in ASSETS:
        assert asset.op.required_resource_keys == {"fileproc"}, asset.key
    for name in ("upload_sensor", "reconcile_sensor", "run_failure_notifier"):
        assert loaded.resolve_sensor_def(name).required_resource_keys == {"fileproc"}, name
    for name in ("release_quarantined", "resend_notifications"):
        job = loaded.resolve_job_def(name)
        assert {key for node in job.graph.nodes
                for key in node.definition.required_resource_keys} == {"fileproc"}, name
    # Each system it is made of is listed on its own too (the same object), so the UI shows
    # every system's configuration under Deployment > Resources.
    fileproc = loaded.resources["fileproc"]
    assert isinstance(fileproc, FileprocResource)
    for key in FileprocResource.model_fields:
        assert getattr(fileproc, key) is loaded.resources[key], key
    with dg.build_resources({"fileproc": fileproc}) as built:
        assert built.fileproc.hooks() is NO_HOOKS
