"""End to end through the real Dagster daemon: files dropped into the upload directory end as
done records (or quarantined with a reason), uploads removed, one notification each."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Record, Records

pytestmark = pytest.mark.slow

# A mix of kinds, a hostile name, a duplicate and bad inputs.
CORPUS_MIX = {
    "letter_8781.png": "document", "returns_policy.pdf": "document",
    "garden_committee_notes.txt": "document", "council_minutes.docx": "document",
    "IMG_20180619_135726.jpg": "image", "a;rm -rf x$(id).png": "image",
    "recording_4960.wav": "audio", "silence_2564.wav": "audio",
    "upload.pdf": "quarantined", "holiday_7692.png": "quarantined",
    "archive_4631.zip": "archive",
}
# What the archive holds: each member a file of its own, with the archive as its parent.
MEMBERS = {"readme.txt": "document", "images/thumb.png": "image"}


def _wait_for(records: Records, count: int, timeout_s: float,
              log: Path) -> list[Record]:
    deadline = time.monotonic() + timeout_s
    finished: list[Record] = []
    while time.monotonic() < deadline:
        finished = [r for r in records.files.all() if r.state in ("done", "quarantined", "failed")]
        if len(finished) >= count:
            return finished
        time.sleep(1)
    states = Counter(r.state for r in records.files.all())
    tail = log.read_text(errors="replace")[-4000:]
    pytest.fail(f"only {len(finished)}/{count} files finished in {timeout_s:.0f} s: "
                f"{states}\n{tail}")


def _outbox(settings: Settings, at_least: int = 0) -> list[dict[str, Any]]:
    """The messages sent; waits a little for ``at_least`` of them, as a file's record is done
    a moment before its notification goes out (the same step, in that order)."""
    deadline = time.monotonic() + 30
    while True:
        lines = settings.outbox.read_text().splitlines() if settings.outbox.exists() else []
        if len(lines) >= at_least or time.monotonic() > deadline:
            return [json.loads(x) for x in lines]
        time.sleep(0.5)


def test_dropped_files_are_processed_by_the_daemon(daemon: Settings, corpus: Path) -> None:
    settings = daemon
    started = time.monotonic()
    for name in CORPUS_MIX:
        shutil.copyfile(corpus / name, settings.upload_dir / name)
    records = Records(settings.db_url)
    finished = _wait_for(records, len(CORPUS_MIX) + len(MEMBERS), 900,
                         settings.home / "daemon.log")
    elapsed = time.monotonic() - started
    by_name = {r.name: r for r in finished}
    for name, expected in CORPUS_MIX.items():
        record = by_name[name]
        if expected == "quarantined":
            assert record.state == "quarantined" and record.error, record
            assert (settings.quarantine_dir / record.key / name).exists()
        else:
            assert (record.state, record.type) == ("done", expected), record
    archive = by_name["archive_4631.zip"].key
    for name, expected in MEMBERS.items():
        member = by_name[name]
        assert (member.state, member.type, member.parent_key) == ("done", expected, archive)
    assert len(records.files.all()) == len(CORPUS_MIX) + len(MEMBERS)
    # The same bytes as the letter again, under another name: mapped to the existing record,
    # not described again, reported as a duplicate; then nothing is left in the upload directory.
    shutil.copyfile(corpus / "letter_8781.png", settings.upload_dir / "letter copy.png")
    deadline = time.monotonic() + 120
    while os.listdir(settings.upload_dir) and time.monotonic() < deadline:
        time.sleep(1)
    assert os.listdir(settings.upload_dir) == []
    # One message per finished file (processed or quarantined) and one for the duplicate.
    events = Counter((n["key"], n["event"]) for n in _outbox(settings, len(finished) + 1))
    assert all(count == 1 for count in events.values()), events
    done = [r for r in finished if r.state == "done"]
    assert {k for k, e in events if e == "processed"} == {r.key for r in done}
    assert sum(1 for _, e in events if e.startswith("duplicate-")) == 1
    archive = by_name["archive_4631.zip"].key
    for name, expected in MEMBERS.items():
        member = by_name[name]
        assert (member.state, member.type, member.parent_key) == ("done", expected, archive)
    assert len(records.files.all()) == len(CORPUS_MIX) + len(MEMBERS)
    print(f"\n{len(CORPUS_MIX)} files through the daemon in {elapsed:.1f} s "
          f"({elapsed / len(CORPUS_MIX):.1f} s per file)")


def test_own_samples_through_the_daemon(daemon: Settings, samples: dict[str, Path]) -> None:
    """The README demo's files, which need no corpus."""
    settings = daemon
    for path in samples.values():
        shutil.copyfile(path, settings.upload_dir / path.name)
    finished = _wait_for(Records(settings.db_url), len(samples), 600,
                         settings.home / "daemon.log")
    assert sorted((r.type, r.state) for r in finished) == [
        ("audio", "done"), ("document", "done"), ("document", "done"), ("image", "done")]
    assert len(_outbox(settings, at_least=len(samples))) == len(samples)
