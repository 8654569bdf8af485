"""The run log of a step over many files: a line per file, fewer messages (event-log writes)."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import dagster as dg

from fileproc_dagster.definitions import ASSETS, build_resources
from fileproc_dagster.defs._dagster_compat import partition_range_tags
from fileproc_dagster.defs.files import LINES_PER_MESSAGE, StepLog
from fileproc_dagster.defs.partitions import uploads_partitions
from fileproc_dagster.intake.admit import receive
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Records


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _logger() -> tuple[logging.Logger, Captured]:
    logger = logging.Logger("step")
    captured = Captured()
    logger.addHandler(captured)
    return logger, captured


def test_quick_files_share_messages_of_at_most_ten_lines_in_order() -> None:
    logger, captured = _logger()
    log = StepLog(logger, flush_s=60)
    for i in range(25):
        log.info(f"file_{i}: done")
    log.flush()
    messages = [r.getMessage().split("\n") for r in captured.records]
    assert [len(m) for m in messages] == [LINES_PER_MESSAGE, LINES_PER_MESSAGE, 5]
    assert [line for m in messages for line in m] == [f"file_{i}: done" for i in range(25)]


def test_a_slow_file_gets_its_line_at_once_and_a_warning_keeps_its_place() -> None:
    logger, captured = _logger()
    slow = StepLog(logger, flush_s=0)  # every file took longer than the wait
    slow.info("a: done in 3.10 s")
    assert [r.getMessage() for r in captured.records] == ["a: done in 3.10 s"]
    captured.records.clear()
    quick = StepLog(logger, flush_s=60)
    quick.info("b: done")
    quick.warning("c: quarantined")
    quick.info("d: done")
    quick.flush()
    quick.flush()  # nothing left: no empty message
    assert [(r.levelno, r.getMessage()) for r in captured.records] == [
        (logging.INFO, "b: done"), (logging.WARNING, "c: quarantined"), (logging.INFO, "d: done")]


def test_a_batch_run_logs_a_line_per_file_and_step_in_few_messages(
        settings: Settings, tmp_path: Path) -> None:
    count = 12
    with dg.instance_for_test() as instance:
        keys = []
        for i in range(count):
            source = tmp_path / f"note_{i}.txt"
            source.write_text(f"note {i} of a logged batch\n")
            shutil.copyfile(source, settings.upload_dir / source.name)
            keys.append(receive(settings.upload_dir, source.name, Records(settings.db_url)).key)
        instance.add_dynamic_partitions(uploads_partitions.name, keys)
        result = dg.materialize(ASSETS, instance=instance, resources=build_resources(settings),
                                tags=partition_range_tags(keys[0], keys[-1]))
        assert result.success
        messages = [e.user_message for e in instance.all_logs(result.run_id)
                    if e.dagster_event is None]
    ours = [m for m in messages if " done in " in m or "file(s) finished" in m]
    lines = [line for message in ours for line in message.split("\n")]
    for what in ("storing the upload", "recording the file", "describing the file",
                 "finalizing the file"):
        done = [line for line in lines if re.fullmatch(rf"(\S+): {what} done in \d+\.\d\d s",
                                                       line)]
        assert sorted(line.split(":")[0] for line in done) == sorted(keys), what
        assert f"{what}: {count} of {count} file(s) finished" in lines
    # Four steps of 12 files: 52 lines, in far fewer messages than lines.
    assert len(lines) == 4 * (count + 1)
    assert len(ours) <= 4 * 3
