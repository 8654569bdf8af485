"""Objects on S3 by configuration: settings, the resource, and the assets materialized
in-process against moto's S3 server over HTTP on loopback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import pytest

from fileproc_dagster.definitions import ASSETS, build_resources, defs
from fileproc_dagster.defs.assets import stored_object
from fileproc_dagster.defs.partitions import uploads_partitions
from fileproc_dagster.defs.resources import (
    FileprocResource,
    LocalObjectStoreResource,
    S3ObjectStoreResource,
)
from fileproc_dagster.intake.admit import receive
from fileproc_dagster.settings import S3Location, Settings, parse_store
from fileproc_dagster.storage.records import Records
from support.s3server import S3Server


@pytest.mark.parametrize("url,expected", [
    ("", None),
    ("s3://files", S3Location("files", "")),
    ("s3://files/fileproc/prod/", S3Location("files", "fileproc/prod")),
    ("S3://my.bucket-1/x", S3Location("my.bucket-1", "x")),
])
def test_the_store_setting_is_parsed(url: str, expected: S3Location | None) -> None:
    assert parse_store(url) == expected


@pytest.mark.parametrize("url,message", [
    ("/data/objects", "must look like s3://bucket/prefix"),
    ("file:///data/objects", "must look like s3://bucket/prefix"),
    ("s3://", "no valid S3 bucket"),
    ("s3://My_Bucket/x", "no valid S3 bucket"),
    ("s3://files/a/../b", "malformed key prefix"),
])
def test_a_bad_store_setting_is_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_store(url)


def test_settings_choose_the_object_store(settings: Settings,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.s3 is None
    assert isinstance(build_resources(settings)["object_store"], LocalObjectStoreResource)
    monkeypatch.setenv("FILEPROC_STORE", "s3://files/fileproc")
    monkeypatch.setenv("FILEPROC_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    chosen = Settings.from_env()
    assert chosen.s3 == S3Location("files", "fileproc", "http://127.0.0.1:9000")
    resource = build_resources(chosen)["object_store"]
    assert isinstance(resource, S3ObjectStoreResource)
    assert (resource.bucket, resource.prefix) == ("files", "fileproc")
    # The endpoint may carry a login: the resource names its variable, resolved at run time.
    endpoint = resource.endpoint_url
    assert isinstance(endpoint, dg.EnvVar) and endpoint.env_var_name == "FILEPROC_S3_ENDPOINT_URL"
    assert endpoint.get_value() == "http://127.0.0.1:9000"
    loaded = defs()  # the code location loads with it (no request is made yet)
    assert loaded.resolve_job_def("process_file").required_resource_keys >= {"fileproc"}
    fileproc = loaded.resources["fileproc"]
    assert isinstance(fileproc, FileprocResource)
    assert isinstance(fileproc.object_store, S3ObjectStoreResource)
    assert fileproc.object_store is loaded.resources["object_store"]


def test_no_local_store_directory_for_s3(tmp_path: Path) -> None:
    chosen = Settings.from_env({"FILEPROC_HOME": str(tmp_path), "FILEPROC_STORE": "s3://files"})
    chosen.ensure_dirs()
    assert chosen.upload_dir.is_dir() and not chosen.store_dir.exists()


@pytest.fixture()
def s3_settings(settings: Settings, s3_env: S3Server, s3_bucket: str,
                monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The temporary installation with its objects on the test server."""
    monkeypatch.setenv("FILEPROC_STORE", f"s3://{s3_bucket}/fileproc/prod")
    monkeypatch.setenv("FILEPROC_S3_ENDPOINT_URL", s3_env.endpoint_url)
    resolved = Settings.from_env()
    resolved.ensure_dirs()
    return resolved


def _drop(settings: Settings, source: Path, instance: dg.DagsterInstance) -> str:
    shutil.copyfile(source, settings.upload_dir / source.name)
    key = receive(settings.upload_dir, source.name, Records(settings.db_url)).key
    instance.add_dynamic_partitions(uploads_partitions.name, [key])
    return key


def test_the_assets_store_objects_on_s3(s3_settings: Settings, s3_env: S3Server,
                                        samples: dict[str, Path]) -> None:
    assert s3_settings.s3 is not None
    bucket, sample = s3_settings.s3.bucket, samples["lending_policy"]
    with dg.instance_for_test() as instance:
        key = _drop(s3_settings, sample, instance)
        result = dg.materialize(ASSETS, partition_key=key, instance=instance,
                                resources=build_resources(s3_settings))
        assert result.success
        record = Records(s3_settings.db_url).files.get(key)
        assert record is not None and record.state == "done"
        object_key = f"fileproc/prod/objects/{record.sha256[:2]}/{record.sha256}"
        assert record.location == f"s3://{bucket}/{object_key}"
        stored = result.asset_materializations_for_node("stored_object")[0].metadata
        assert stored["location"].value == record.location
        # A re-execution (a retry, a run from the UI) uploads nothing again.
        writes = len(s3_env.requests)
        assert dg.materialize(ASSETS, partition_key=key, instance=instance,
                              resources=build_resources(s3_settings)).success
        assert [r for r in s3_env.requests[writes:] if r.method in ("PUT", "POST")] == []
    client = s3_env.client()
    stored_object_ = client.get_object(Bucket=bucket, Key=object_key)
    assert stored_object_["Body"].read() == sample.read_bytes()
    assert stored_object_["Metadata"] == {"sha256": record.sha256}
    thumbnail = f"fileproc/prod/thumbnails/{record.sha256[:2]}/{record.sha256}.png"
    assert (record.details or {})["thumbnail"] == f"s3://{bucket}/{thumbnail}"
    assert client.get_object(Bucket=bucket, Key=thumbnail)["Body"].read(4) == b"\x89PNG"
    assert not any(s3_settings.store_dir.rglob("*"))  # nothing went to the local directory
    assert not (s3_settings.upload_dir / sample.name).exists()
    outbox = [json.loads(line) for line in s3_settings.outbox.read_text().splitlines()]
    assert [n["message"] for n in outbox] == [
        f"Processed {sample.name} (document) - db: {record.uuid}, s3: {record.location}"]


def test_an_s3_outage_is_retried_by_the_step(s3_settings: Settings, s3_env: S3Server,
                                             samples: dict[str, Path]) -> None:
    # Every attempt boto3 makes of the first upload fails: the step's retry policy takes over.
    attempts = 1 + S3ObjectStoreResource.model_fields["max_attempts"].default
    s3_env.fail_next(attempts, 503, "SlowDown",
                     when=lambda r: r.method == "PUT" and "/objects/" in r.path)
    with dg.instance_for_test() as instance:
        key = _drop(s3_settings, samples["lending_policy"], instance)
        result = dg.materialize([stored_object], partition_key=key, instance=instance,
                                resources=build_resources(s3_settings))
        retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
        stored = result.asset_materializations_for_node("stored_object")[0].metadata
    assert result.success and len(retries) == 1
    assert "object store unavailable" in str(retries[0].event_specific_data)
    assert (stored["location"].value, stored["stored"].value) == (
        f"s3://{s3_settings.s3.bucket}/fileproc/prod/objects/{stored['sha256'].value[:2]}/"
        f"{stored['sha256'].value}", "uploaded")
    assert Records(s3_settings.db_url).files.get(key) is None  # the record step comes next


def test_a_missing_bucket_fails_the_step_at_once(settings: Settings, s3_env: S3Server,
                                                 samples: dict[str, Path],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong installation is not retried six times: the step fails once, saying why, and
    the file's record fails with the reason; its upload stays for a re-run once fixed."""
    monkeypatch.setenv("FILEPROC_STORE", "s3://no-such-bucket-here/fileproc")
    monkeypatch.setenv("FILEPROC_S3_ENDPOINT_URL", s3_env.endpoint_url)
    missing = Settings.from_env()
    missing.ensure_dirs()
    sample = samples["lending_policy"]
    with dg.instance_for_test() as instance:
        key = _drop(missing, sample, instance)
        result = dg.materialize([stored_object], partition_key=key, instance=instance,
                                resources=build_resources(missing), raise_on_error=False)
    kinds = [e.event_type_value for e in result.all_events]
    assert not result.success
    assert "STEP_UP_FOR_RETRY" not in kinds and kinds.count("STEP_FAILURE") == 1
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "no-such-bucket-here does not exist" in str(failure.event_specific_data)
    record = Records(missing.db_url).files.get(key)
    assert record is not None and record.state == "failed"
    assert "does not exist" in (record.error or "")
    assert (missing.upload_dir / sample.name).exists()
