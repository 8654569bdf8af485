"""The pieces of the per-file UI: the preview, links, run tags, config spelling, the
extractors' version, and the run-failure notice."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import sys
from pathlib import Path

import dagster as dg
from PIL import Image

from fileproc_dagster.definitions import ASSETS, build_definitions, build_resources
from fileproc_dagster.defs.assets import file_description
from fileproc_dagster.defs.failures import run_error, run_failure_notifier
from fileproc_dagster.defs.metadata import files_tag, location
from fileproc_dagster.defs.partitions import uploads_partitions
from fileproc_dagster.defs.resources import ExtractorResource
from fileproc_dagster.describe.images.describe import thumbnail_png
from fileproc_dagster.describe.preview import INLINE_LIMIT, preview_image, preview_markdown
from fileproc_dagster.intake.admit import receive
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Records


def _drop(settings: Settings, source: Path, instance: dg.DagsterInstance) -> str:
    shutil.copyfile(source, settings.upload_dir / source.name)
    key = receive(settings.upload_dir, source.name, Records(settings.db_url)).key
    instance.add_dynamic_partitions(uploads_partitions.name, [key])
    return key


def test_the_preview_fits_inline_with_a_real_picture(samples: dict[str, Path]) -> None:
    with Image.open(samples["hills_photo"]) as photo:
        uri = preview_image(thumbnail_png(photo.convert("RGB")))
    assert uri is not None and uri.startswith("data:image/webp;base64,")
    with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as small:
        assert small.width >= 48 and small.height > 0
    long_text = "\n".join(f"line {n} " + "word " * 40 for n in range(50))
    markdown = preview_markdown("photo.jpg", "image", "done", "uuid-1", long_text,
                                {"display_width": 640, "display_height": 480}, uri)
    assert len(markdown) <= INLINE_LIMIT and uri in markdown
    assert "640×480 px" in markdown and "record `uuid-1`" in markdown and "line 0" in markdown


def test_the_preview_shows_file_text_as_text() -> None:
    markdown = preview_markdown("[x](javascript:alert(1)).pdf", "document", "done", "u",
                                "<img src=x> ![a](http://example.org/t.png)", {"pages": 2},
                                None)
    # Every bracket and angle of the file's own text is escaped: no link, image or tag.
    assert not re.search(r"(?<!\\)[\[\]<>()]", markdown.replace("**", "")), markdown
    assert "\\<img" in markdown and "2 pages" in markdown


def test_a_transcript_preview_has_times() -> None:
    details = {"duration_s": 75.2, "segments": [{"start": 0.0, "text": " Hello there."},
                                               {"start": 64.5, "text": " Goodbye."}]}
    markdown = preview_markdown("memo.wav", "audio", "done", "u", "Hello there. Goodbye.",
                                details, None)
    assert "1:15" in markdown and "`0:00` Hello there" in markdown and "`1:04` Goodbye" in markdown


def test_locations_are_copyable_paths_and_s3_links() -> None:
    local = location("file:///srv/file%20proc/store/objects/ab/ab12")
    assert local["location"].value == "/srv/file proc/store/objects/ab/ab12"
    s3 = location("s3://bucket/pre/objects/ab/ab12")
    assert s3["location"].value == "s3://bucket/pre/objects/ab/ab12"
    assert s3["console"].value == ("https://s3.console.aws.amazon.com/s3/object/bucket"
                                   "?prefix=pre/objects/ab/ab12")
    assert "console" not in location("s3://bucket/k", endpoint_url="http://127.0.0.1:9000")


def test_run_tags_name_the_files() -> None:
    assert files_tag(["a.pdf", "b.png"]) == "a.pdf, b.png"
    many = files_tag([f"scan_{n:03d}.pdf" for n in range(50)])
    assert many.startswith("50 files: scan_000.pdf, ") and many.endswith("more")
    assert len(many) <= 200


def test_the_backend_is_typed_as_the_resource_spells_it(settings: Settings) -> None:
    job = build_definitions(settings).resolve_job_def("process_file")
    config = {"ops": {"file_description": {"config": {"whisper_backend": "faster-whisper"}}}}
    assert dg.validate_run_config(job, config)
    extractor = build_resources(settings)["extractor"]
    assert isinstance(extractor, ExtractorResource)
    assert extractor.whisper_backend == "faster-whisper"


def test_other_extractors_describe_a_done_file_again(settings: Settings,
                                                    samples: dict[str, Path]) -> None:
    with dg.instance_for_test() as instance:
        key = _drop(settings, samples["hills_photo"], instance)
        assert dg.materialize(ASSETS, partition_key=key, instance=instance,
                              resources=build_resources(settings)).success
        first = Records(settings.db_url).files.get(key)
        same = dg.materialize([file_description], partition_key=key, instance=instance,
                              resources=build_resources(settings))
        other = dg.materialize([file_description], partition_key=key, instance=instance,
                               resources=build_resources(settings), run_config={"ops": {
                                   "file_description": {"config": {
                                       "whisper_backend": "openai-whisper"}}}})
    reused = [r.asset_materializations_for_node("file_description")[0].metadata["reused"].value
              for r in (same, other)]
    assert reused == [True, False]
    record = Records(settings.db_url).files.get(key)
    assert first is not None and record is not None and record.state == "done"
    assert "whisper=openai-whisper" in record.details["described_with"]
    assert "whisper=faster-whisper" in first.details["described_with"]


def test_a_failed_run_is_notified_once(settings: Settings, tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    resources = build_resources(settings)
    with dg.instance_for_test() as instance:
        key = _drop(settings, empty, instance)
        result = dg.materialize(ASSETS, partition_key=key, instance=instance,
                                resources=resources, raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        run = instance.get_run_by_id(result.run_id)
        assert run is not None
        for _ in range(2):  # a tick evaluated twice tells nobody twice
            with dg.build_run_status_sensor_context(
                sensor_name=run_failure_notifier.name, dagster_event=failure,
                dagster_instance=instance, dagster_run=run,
                resources={"fileproc": resources["fileproc"]},
            ).for_run_failure() as context:
                run_failure_notifier(context)
    lines = [json.loads(line) for line in settings.outbox.read_text().splitlines()]
    notices = [n for n in lines if n["event"].startswith("run-failed:")]
    assert len(notices) == 1, lines
    assert notices[0]["key"] == key and "file_record" in notices[0]["message"]  # detection
    assert "empty file" in notices[0]["message"] and result.run_id in notices[0]["message"]
    assert f"left failed: empty.pdf ({key}, " in notices[0]["message"]



def test_a_failed_run_that_left_every_file_done_is_not_notified(settings: Settings,
                                                                tmp_path: Path) -> None:
    """Killed after its last file was done (say): nobody has anything to act on."""
    memo = tmp_path / "memo.txt"
    memo.write_text("Minutes: the budget was approved.\n")
    resources = build_resources(settings)
    with dg.instance_for_test() as instance:  # run retries off: no retry follows
        key = _drop(settings, memo, instance)
        result = dg.materialize(ASSETS, partition_key=key, instance=instance,
                                resources=resources)
        run = instance.get_run_by_id(result.run_id)
        assert run is not None
        instance.report_run_failed(run, "the run worker is gone")
        failed = instance.get_run_by_id(result.run_id)
        [failure] = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        assert failed is not None and failure.dagster_event is not None
        with dg.build_run_status_sensor_context(
            sensor_name=run_failure_notifier.name, dagster_event=failure.dagster_event,
            dagster_instance=instance, dagster_run=failed,
            resources={"fileproc": resources["fileproc"]},
        ).for_run_failure() as context:
            run_failure_notifier(context)
    record = Records(settings.db_url).files.get(key)
    assert record is not None and record.state == "done"
    lines = [json.loads(line) for line in settings.outbox.read_text().splitlines()]
    assert [n["event"] for n in lines if n["key"] == key and
            n["event"].startswith("run-failed:")] == []
    assert len(lines) == 1  # the file's own "Processed ..."

def test_a_run_failed_outside_its_steps_is_notified_with_the_executors_error() -> None:
    from dagster._core.events import DagsterEventType, JobFailureData
    from dagster._utils.error import serializable_error_info_from_exc_info

    try:
        raise RuntimeError("During celery execution errors occurred in workers: "
                           "[file_description]: redis connection reset")
    except RuntimeError:
        error = serializable_error_info_from_exc_info(sys.exc_info())
    generic = ('Execution of run for "process_file" failed. '
               "An exception was thrown during execution.")

    def failure(data: JobFailureData) -> dg.DagsterEvent:
        return dg.DagsterEvent(DagsterEventType.RUN_FAILURE.value, "process_file",
                               message=generic, event_specific_data=data)

    assert "redis connection reset" in run_error(failure(JobFailureData(error=error)))
    assert run_error(failure(JobFailureData(error=None))) == generic
