"""A run's extractions spread over several bounded workers: at once, longest first, each
file with its own outcome."""

from __future__ import annotations

import os
import shutil
import threading
import time
from functools import partial
from pathlib import Path

import dagster as dg
import pytest

from fileproc_dagster.definitions import ASSETS, build_resources
from fileproc_dagster.defs._dagster_compat import partition_range_tags
from fileproc_dagster.defs.partitions import uploads_partitions
from fileproc_dagster.describe.formats import expected_seconds
from fileproc_dagster.describe.model import ExtractOptions, FileKind
from fileproc_dagster.errors import Cancelled, MemoryLimit, StepTimeout
from fileproc_dagster.intake.admit import receive
from fileproc_dagster.notify import Notifier
from fileproc_dagster.pipeline import Pipeline
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.objects import LocalObjectStore
from fileproc_dagster.storage.records import Records
from fileproc_dagster.workers.pool import Extractions, Job, pool_size
from fileproc_dagster.workers.worker import (
    DEFAULT_MEMORY_BYTES,
    Worker,
    available_cpus,
    cores,
    extraction_workers,
    set_memory_limit,
)
from support.probes import ProbeHooks, intervals, timed
from support.resources import with_hooks

SOURCES = ("notice_scan", "lending_policy", "hills_photo", "delivery_message")
MIB = 2**20


def _received(settings: Settings, samples: dict[str, Path]) -> list[str]:
    keys = []
    for name in SOURCES:
        shutil.copyfile(samples[name], settings.upload_dir / samples[name].name)
        keys.append(receive(settings.upload_dir, samples[name].name,
                            Records(settings.db_url)).key)
    return keys


def test_files_go_longest_expected_first(tmp_path: Path) -> None:
    audio_2min = expected_seconds(FileKind.AUDIO, "audio/mpeg", 609_116)
    audio_18s = expected_seconds(FileKind.AUDIO, "audio/x-wav", 799_094)
    scan = expected_seconds(FileKind.DOCUMENT, "image/png", 212_401)
    photo = expected_seconds(FileKind.IMAGE, "image/jpeg", 72_737)
    text = expected_seconds(FileKind.DOCUMENT, "text/plain", 605)
    assert audio_2min > audio_18s > scan > photo > text

    worker = Worker()
    try:  # one worker: the jobs run strictly in their order
        jobs = [Job(name, cost, partial(_sleep_in, tmp_path, name))
                for name, cost in [("b", 1.0), ("d", 5.0), ("a", 0.1), ("c", 3.0)]]
        with Extractions(jobs, [worker]) as ahead:
            assert ahead.order == ["d", "c", "b", "a"]
            assert [ahead.result(name) for name in "abcd"] == [None] * 4
    finally:
        worker.kill()
    assert [each["name"] for each in intervals(tmp_path)] == ["d", "c", "b", "a"]


def _sleep_in(folder: Path, name: str, worker: Worker, cancel: threading.Event) -> None:
    worker.call(timed, str(folder), name, time.sleep, 0.05, timeout_s=60, what=name,
                cancel=cancel)


def test_workers_per_run_and_their_share_of_the_cpus() -> None:
    assert pool_size(0, 1) == 1  # a single file keeps the one warm worker
    assert pool_size(0, 50) == available_cpus()
    assert pool_size(3, 2) == 2 and pool_size(1, 50) == 1
    pair = extraction_workers(2)
    share = pair[1].call(cores, timeout_s=120, what="cores")
    assert share == max(1, available_cpus() // 2)
    [alone] = extraction_workers(1)
    assert alone.call(cores, timeout_s=120, what="cores") == available_cpus()


def test_the_setting_reaches_the_extractor_resource(settings: Settings) -> None:
    chosen = Settings.from_env({"FILEPROC_HOME": str(settings.home),
                                "FILEPROC_EXTRACTION_WORKERS": "3"})
    assert chosen.extraction_workers == 3
    assert build_resources(chosen)["extractor"].extraction_workers == 3
    assert Settings.from_env({"FILEPROC_HOME": str(settings.home)}).extraction_workers == 0
    with pytest.raises(ValueError, match="count of workers"):
        Settings.from_env({"FILEPROC_EXTRACTION_WORKERS": "two"})


def test_a_run_describes_its_files_in_two_workers_at_once(settings: Settings,
                                                           samples: dict[str, Path],
                                                           tmp_path: Path) -> None:
    timings = tmp_path / "timings"
    timings.mkdir()
    config = {"ops": {"file_description": {"config": {"extraction_workers": 2}}}}
    with dg.instance_for_test() as instance:
        keys = _received(settings, samples)
        instance.add_dynamic_partitions(uploads_partitions.name, keys)
        result = dg.materialize(ASSETS, instance=instance, run_config=config,
                                resources=with_hooks(build_resources(settings),
                                                     ProbeHooks(timings)),
                                tags=partition_range_tags(keys[0], keys[-1]))
    assert result.success
    records = Records(settings.db_url)
    assert [records.files.get(k).state for k in keys] == ["done"] * 4  # type: ignore[union-attr]
    seen = intervals(timings)
    assert len(seen) == 4 and len({each["pid"] for each in seen}) == 2
    assert os.getpid() not in {each["pid"] for each in seen}
    overlapping = [(a["name"], b["name"]) for a in seen for b in seen
                   if a["pid"] != b["pid"] and a["start"] < b["start"] < a["end"]]
    assert overlapping, seen
    # The two longest expected (the scan's OCR, the speech) start first, one in each worker.
    assert {each["name"] for each in seen[:2]} == {"notice_scan.png", "delivery_message.wav"}


def test_a_timeout_or_a_memory_limit_stays_with_its_file(settings: Settings,
                                                          samples: dict[str, Path]) -> None:
    hooks = ProbeHooks(stall={"hills_photo.jpg": 600}, hog={"lending_policy.pdf": 1500})
    files = Pipeline(records=Records(settings.db_url), upload_dir=settings.upload_dir,
                     quarantine_dir=settings.quarantine_dir,
                     notifier=Notifier(settings.outbox, []), hooks=hooks,
                     store=LocalObjectStore(settings.store_dir))
    options = ExtractOptions()
    keys = _received(settings, samples)
    for key in keys:
        files.store_file(key)
        files.record_file(key, options)
    outcomes: dict[str, object] = {}
    started = time.monotonic()
    try:  # the memory bound of every worker, then the default again
        with files.describe_ahead(keys, options, timeout_s=20, workers=2,
                                  memory_bytes=800 * MIB) as ahead:
            for key in keys:
                try:
                    outcomes[key] = files.describe_file(key, options, 20, ahead=ahead)[0].state
                except (StepTimeout, MemoryLimit) as exc:
                    outcomes[key] = type(exc).__name__
    finally:
        set_memory_limit(DEFAULT_MEMORY_BYTES)
    assert [outcomes[k] for k in keys] == ["described", "MemoryLimit", "StepTimeout",
                                           "described"]
    assert time.monotonic() - started < 120  # the stalled file was stopped, not waited for


def test_closing_early_stops_the_extractions_nobody_waits_for(tmp_path: Path) -> None:
    worker = Worker()
    try:
        jobs = [Job(name, 1.0, partial(_sleep_long, tmp_path, name)) for name in "ab"]
        ahead = Extractions(jobs, [worker])
        while not (tmp_path / "a.pid").exists():  # "a" is running in the worker process
            time.sleep(0.05)
        running = int((tmp_path / "a.pid").read_text())
        started = time.monotonic()
        _close_within(ahead, 10)  # as when the step fails: "b" never starts, "a" is stopped
        print(f"closed in {time.monotonic() - started:.2f} s")
        with pytest.raises(Cancelled):
            ahead.result("a")
        assert worker.call(os.getpid, timeout_s=120, what="pid") not in (running, os.getpid())
    finally:
        worker.kill()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "a.pid"]


def test_a_file_handed_over_after_the_close_never_starts(tmp_path: Path) -> None:
    worker = Worker()
    try:
        jobs = [Job(name, 1.0, partial(_fetch_until_closed, tmp_path, name)) for name in "ab"]
        ahead = Extractions(jobs, [worker])
        while not list(tmp_path.iterdir()):  # "a" is fetching its bytes, the worker idle
            time.sleep(0.05)
        started = time.monotonic()
        _close_within(ahead, 10)  # "a" hands its file over only once the close has begun
        print(f"closed in {time.monotonic() - started:.2f} s")
        with pytest.raises(Cancelled, match="not started"):
            ahead.result("a")
    finally:
        worker.kill()
    assert [p.name for p in tmp_path.iterdir()] == ["a"]


def _close_within(ahead: Extractions[None], seconds: float) -> None:
    """Close ``ahead``, failing (rather than hanging for a file's timeout) past ``seconds``."""
    closing = threading.Thread(target=ahead.close, daemon=True)
    closing.start()
    closing.join(seconds)
    assert not closing.is_alive(), f"close() still waiting after {seconds} s"


def _sleep_long(folder: Path, name: str, worker: Worker, cancel: threading.Event) -> None:
    (folder / name).touch()
    worker.call(_note_pid_and_sleep, str(folder / f"{name}.pid"), 600, timeout_s=900, what=name,
                cancel=cancel)


def _note_pid_and_sleep(path: str, seconds: float) -> None:
    Path(f"{path}.part").write_text(str(os.getpid()))
    os.replace(f"{path}.part", path)  # seen whole or not at all
    time.sleep(seconds)


def _fetch_until_closed(folder: Path, name: str, worker: Worker,
                        cancel: threading.Event) -> None:
    (folder / name).touch()
    assert cancel.wait(60)  # still fetching the bytes when the step closes
    worker.call(_note_pid_and_sleep, str(folder / f"{name}.pid"), 600, timeout_s=900, what=name,
                cancel=cancel)
