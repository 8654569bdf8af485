"""The door of the upload directory (entries refused unread) and releasing quarantined files."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import hostile as h
import pytest
import sqlalchemy as sa

from fileproc_dagster.definitions import ASSETS, build_resources
from fileproc_dagster.defs.partitions import uploads_partitions
from fileproc_dagster.errors import FileprocError
from fileproc_dagster.intake.admit import admit, receive, record_refusal
from fileproc_dagster.intake.release import release
from fileproc_dagster.intake.scan import list_entries, scan
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Received, Record, Records
from fileproc_dagster.storage.schema import uploads as uploads_table
from fileproc_dagster.storage.states import State


def _admit(settings: Settings, name: str, **kwargs: int) -> Received | Record | None:
    return admit(settings.upload_dir, settings.quarantine_dir, name,
                 Records(settings.db_url), **kwargs)


def _refused(result: Received | Record | None) -> Record:
    assert isinstance(result, Record), result
    assert result.state == "quarantined" and result.error
    assert all(c.isalnum() or c in "-_" for c in result.key) and len(result.key) <= 53
    return result


def test_listing_shows_what_the_door_must_refuse(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("x")
    (tmp_path / "folder.pdf").mkdir()
    (tmp_path / "link.txt").symlink_to("/etc/hostname")
    os.mkfifo(tmp_path / "pipe.wav")
    (tmp_path / "partial.pdf.part").write_text("x")
    assert set(list_entries(tmp_path)) == {"ok.txt", "folder.pdf", "link.txt", "pipe.wav"}


@pytest.mark.parametrize("target", ["secret", "pipe", "missing"])
def test_symlink_out_of_the_upload_dir_is_quarantined_unfollowed(
        settings: Settings, tmp_path: Path, target: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    pointed = outside / target
    if target == "secret":
        pointed.write_text("db password: hunter2")
    elif target == "pipe":
        os.mkfifo(pointed)  # following it would block on open: the test would hang
    (settings.upload_dir / "invoice.pdf").symlink_to(pointed)
    record = _refused(_admit(settings, "invoice.pdf"))
    assert "symbolic link" in (record.error or "")
    assert record.details == {"refused": "symlink", "link": str(pointed),
                              "identity": "sha256 is a digest of the entry, not of content"}
    moved = settings.quarantine_dir / record.key / "invoice.pdf"
    assert moved.is_symlink() and os.readlink(moved) == str(pointed)  # the link itself
    assert not (settings.upload_dir / "invoice.pdf").is_symlink()
    if target == "secret":
        assert pointed.read_text() == "db password: hunter2"
        assert record.sha256 != hashlib.sha256(pointed.read_bytes()).hexdigest()
        assert record.size != pointed.stat().st_size  # the link's own size, not the target's


def test_directory_named_like_a_file_is_moved_whole(settings: Settings) -> None:
    folder = settings.upload_dir / "report.pdf"
    folder.mkdir()
    (folder / "inside.txt").write_text("kept")
    record = _refused(_admit(settings, "report.pdf"))
    assert "a directory, not a file" in (record.error or "")
    assert (settings.quarantine_dir / record.key / "report.pdf" / "inside.txt").read_text() == \
        "kept"
    assert not folder.exists()


def test_named_pipe_is_refused_without_blocking(settings: Settings) -> None:
    os.mkfifo(settings.upload_dir / "stream.wav")
    record = _refused(_admit(settings, "stream.wav"))
    assert "a named pipe, not a regular file" in (record.error or "")


def test_oversized_file_is_refused_before_a_byte_is_read(settings: Settings) -> None:
    huge = settings.upload_dir / "backup.tar"
    with open(huge, "wb") as handle:  # 20 GiB, sparse: hashing it would take minutes
        handle.truncate(20 * 2**30)
    started = time.monotonic()
    record = _refused(_admit(settings, "backup.tar"))  # the default limit: 512 MiB
    assert time.monotonic() - started < 10
    assert "file of 20.0 GiB is over the upload limit of 512.0 MiB" in (record.error or "")
    assert (settings.quarantine_dir / record.key / "backup.tar").stat().st_size == 20 * 2**30


def test_refusing_the_same_entry_twice_keeps_one_record(settings: Settings) -> None:
    (settings.upload_dir / "a.txt").symlink_to("/etc/hostname")
    info = os.lstat(settings.upload_dir / "a.txt")
    records = Records(settings.db_url)
    first = record_refusal(records, "a.txt", info, link="/etc/hostname")
    again = record_refusal(records, "a.txt", info, link="/etc/hostname")
    assert first == again and len(records.files.all()) == 1


def test_file_that_vanished_before_admission_leaves_nothing(settings: Settings) -> None:
    assert _admit(settings, "gone.pdf") is None
    assert Records(settings.db_url).files.all() == []


def test_file_deleted_between_registration_and_read_fails_its_record(
        settings: Settings) -> None:
    (settings.upload_dir / "memo.txt").write_bytes(h.text("vanishing"))
    received = _admit(settings, "memo.txt")
    assert isinstance(received, Received)
    (settings.upload_dir / "memo.txt").unlink()  # between detection and read
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(uploads_partitions.name, [received.key])
        result = dg.materialize(ASSETS, partition_key=received.key, instance=instance,
                                resources=build_resources(settings), raise_on_error=False)
        retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert not result.success and retries == []
    record = Records(settings.db_url).files.get(received.key)
    assert record is not None and record.state == "failed"
    assert "disappeared before it was stored" in (record.error or "")


def test_a_tick_over_a_hostile_upload_dir_refuses_some_and_registers_the_rest(
        settings: Settings) -> None:
    """What the sensor does per tick with these functions: nothing raises, nothing is lost."""
    d = settings.upload_dir
    (d / "ok.txt").write_bytes(h.text("fine"))
    (d / "evil.pdf").symlink_to("/etc/shadow")
    (d / "dir.png").mkdir()
    os.mkfifo(d / "pipe.wav")
    h.write(d, b"caf\xe9.txt", h.text("latin-1 name"))
    (d / "big.bin").write_bytes(b"x" * 5_000)
    (d / "also ok.txt").write_bytes(h.text("also fine"))
    first = scan({}, list_entries(d), set())
    second = scan(first.waiting, list_entries(d), set())
    assert len(second.ready) == 7
    results = {name: _admit(settings, name, max_bytes=4_096) for name in second.ready}
    registered = sorted(n for n, r in results.items() if isinstance(r, Received))
    assert registered == ["also ok.txt", "ok.txt"]
    refused = {n: (_refused(r).details or {})["refused"] for n, r in results.items()
               if isinstance(r, Record)}
    assert sorted(refused.values()) == ["directory", "name", "named pipe", "oversized",
                                        "symlink"]
    assert sorted(list_entries(d)) == ["also ok.txt", "ok.txt"]
    kept = [p for p in settings.quarantine_dir.rglob("*") if p.parent.parent ==
            settings.quarantine_dir]
    assert len(kept) == 5


# ---- release ---------------------------------------------------------------------------------

def _quarantine_via_the_pipeline(settings: Settings, name: str, data: bytes) -> str:
    (settings.upload_dir / name).write_bytes(data)
    key = receive(settings.upload_dir, name, Records(settings.db_url)).key
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(uploads_partitions.name, [key])
        dg.materialize(ASSETS, partition_key=key, instance=instance,
                       resources=build_resources(settings), raise_on_error=False)
    assert (settings.quarantine_dir / key / name).exists()
    return key


def _upload_states(settings: Settings, key: str) -> list[str]:
    with Records(settings.db_url).db.engine.begin() as conn:
        return list(conn.execute(sa.select(uploads_table.c.state).where(
            uploads_table.c.key == key).order_by(uploads_table.c.id)).scalars())


def test_release_moves_the_file_back_and_reopens_the_record(settings: Settings) -> None:
    data = h.random_bytes(2_000, 9)
    key = _quarantine_via_the_pipeline(settings, "notes.txt", data)
    records = Records(settings.db_url)
    before = (settings.quarantine_dir / key / "notes.txt").stat().st_mtime_ns
    released = release(settings.upload_dir, settings.quarantine_dir, key, records)
    assert released.moved == [settings.upload_dir / "notes.txt"] and released.kept == {}
    assert released.state == "received"
    back = settings.upload_dir / "notes.txt"
    assert back.read_bytes() == data and back.stat().st_mtime_ns > before
    assert not (settings.quarantine_dir / key).exists()
    assert _upload_states(settings, key) == ["released"]
    # The sensor registers it as a new, non-duplicate upload of the same record.
    again = receive(settings.upload_dir, "notes.txt", records)
    assert (again.key, again.duplicate) == (key, False)
    assert [u.name for u in records.uploads.pending(key)] == ["notes.txt"]


def test_release_never_overwrites_a_file_in_the_upload_dir(settings: Settings) -> None:
    key = _quarantine_via_the_pipeline(settings, "scan.pdf", b"")
    (settings.upload_dir / "scan.pdf").write_text("a newer upload")
    released = release(settings.upload_dir, settings.quarantine_dir, key,
                       Records(settings.db_url))
    assert released.moved == [] and "exists" in released.kept["scan.pdf"]
    assert released.state == "quarantined"  # nothing went back, so it stays quarantined
    assert (settings.upload_dir / "scan.pdf").read_text() == "a newer upload"
    assert (settings.quarantine_dir / key / "scan.pdf").read_bytes() == b""


def test_release_of_an_oversized_refusal_after_raising_the_limit(settings: Settings) -> None:
    (settings.upload_dir / "big.txt").write_bytes(h.text("big", 2_000))
    refused = _refused(_admit(settings, "big.txt", max_bytes=1_000))
    records = Records(settings.db_url)
    released = release(settings.upload_dir, settings.quarantine_dir, refused.key,
                       records)
    assert released.moved == [settings.upload_dir / "big.txt"]
    note = records.files.get(refused.key)
    assert note is not None and note.state == "quarantined"
    assert (note.error or "").startswith("released for another try on ")
    admitted = _admit(settings, "big.txt", max_bytes=1_000_000)  # the limit was raised
    assert isinstance(admitted, Received) and admitted.key.startswith("big-")


def test_release_keeps_symlinks_and_refuses_odd_keys(settings: Settings) -> None:
    (settings.upload_dir / "l.pdf").symlink_to("/etc/passwd")
    refused = _refused(_admit(settings, "l.pdf"))
    released = release(settings.upload_dir, settings.quarantine_dir, refused.key,
                       Records(settings.db_url))
    assert released.moved == [] and "not a regular file" in released.kept["l.pdf"]
    for key in ("../etc", "a/b", "", "nope-000000000000"):
        with pytest.raises(FileprocError):
            release(settings.upload_dir, settings.quarantine_dir, key,
                    Records(settings.db_url))


def test_fileproc_release_command(settings: Settings, tmp_path: Path) -> None:
    source = tmp_path / "random.pdf"
    source.write_bytes(h.random_bytes(1_000, 11))
    env = {**os.environ, "FILEPROC_HOME": str(settings.home)}
    command = str(Path(sys.executable).parent / "fileproc")
    done = subprocess.run([command, "process", "--json", str(source)], env=env,
                          capture_output=True, text=True, timeout=600)
    outcome = json.loads(done.stdout)
    assert outcome["state"] == "quarantined", done.stderr
    released = subprocess.run([command, "release", "--json", outcome["key"]], env=env,
                              capture_output=True, text=True, timeout=120)
    assert released.returncode == 0, released.stderr
    assert json.loads(released.stdout)["moved"] == [str(settings.upload_dir / "random.pdf")]
    assert (settings.upload_dir / "random.pdf").read_bytes() == source.read_bytes()
    record = Records(settings.db_url).files.get(outcome["key"])
    assert record is not None and record.state == "received"
    twice = subprocess.run([command, "release", outcome["key"]], env=env, capture_output=True,
                           text=True, timeout=120)
    assert twice.returncode == 1 and "nothing of" in twice.stderr


def test_released_file_that_is_still_bad_goes_back_to_quarantine(settings: Settings) -> None:
    key = _quarantine_via_the_pipeline(settings, "still.pdf", h.random_bytes(500, 12))
    records = Records(settings.db_url)
    release(settings.upload_dir, settings.quarantine_dir, key, records)
    receive(settings.upload_dir, "still.pdf", records)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(uploads_partitions.name, [key])
        dg.materialize(ASSETS, partition_key=key, instance=instance,
                       resources=build_resources(settings), raise_on_error=False)
    record = records.files.get(key)
    assert record is not None and record.state == "quarantined"
    assert (settings.quarantine_dir / key / "still.pdf").exists()
    assert not (settings.upload_dir / "still.pdf").exists()
    assert _upload_states(settings, key) == ["released", "quarantined"]


def test_quarantine_never_overwrites_an_earlier_upload(settings: Settings) -> None:
    key = _quarantine_via_the_pipeline(settings, "dup.pdf", b"")
    time.sleep(0.01)  # the same bytes under the same name again: a new upload
    assert _quarantine_via_the_pipeline(settings, "dup.pdf", b"") == key
    assert sorted(os.listdir(settings.quarantine_dir / key)) == ["dup (1).pdf", "dup.pdf"]


def test_settings_read_the_size_limit(settings: Settings) -> None:
    env = {"FILEPROC_HOME": str(settings.home), "FILEPROC_MAX_UPLOAD_BYTES": "64M"}
    assert Settings.from_env(env).max_upload_bytes == 64 * 2**20
    assert dataclasses.replace(settings).max_upload_bytes == 512 * 2**20


def test_a_quarantine_cut_short_is_finished_by_the_next_step(settings: Settings) -> None:
    # The record says quarantined, but the attempt died (an outage, a crash) before the
    # upload was moved aside and the notice sent: the run's next step finishes both.
    (settings.upload_dir / "cut.txt").write_text("half quarantined\n")
    records = Records(settings.db_url)
    key = receive(settings.upload_dir, "cut.txt", records).key
    records.files.fail(key, "broken on purpose", state=State.QUARANTINED)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(uploads_partitions.name, [key])
        result = dg.materialize([a for a in ASSETS if a.key.path == ["file_record"]],
                                partition_key=key, instance=instance,
                                resources=build_resources(settings), raise_on_error=False)
    assert not result.success  # the file stays quarantined; its step says so
    assert (settings.quarantine_dir / key / "cut.txt").read_text() == "half quarantined\n"
    assert not (settings.upload_dir / "cut.txt").exists()
    sent = [json.loads(line)["message"] for line in settings.outbox.read_text().splitlines()]
    assert sent == ["Quarantined cut.txt: broken on purpose"]
    assert _upload_states(settings, key) == ["quarantined"]
