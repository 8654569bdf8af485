"""The ``fileproc`` command, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fileproc_dagster.settings import Settings

FIELDS = {"uuid", "key", "name", "type", "size", "sha256", "location", "state", "description",
          "text", "details", "error"}


def fileproc(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FILEPROC_HOME": str(settings.home)}
    return subprocess.run([str(Path(sys.executable).parent / "fileproc"), *args], env=env,
                          capture_output=True, text=True, timeout=600)


def test_process_then_records(settings: Settings, samples: dict[str, Path],
                              tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    done = fileproc(settings, "process", "--json", str(samples["lending_policy"]),
                    str(samples["hills_photo"]), str(empty))
    assert done.returncode == 1, done.stderr  # one file was bad
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["type"], r["state"]) for r in results] == [
        ("document", "done"), ("image", "done"), (None, "quarantined")]
    assert "empty" in results[2]["error"]
    assert samples["lending_policy"].exists()  # the user's own file is never touched
    listed = fileproc(settings, "records", "--json")
    assert listed.returncode == 0, listed.stderr
    records = json.loads(listed.stdout)
    assert len(records) == 3 and all(set(r) == FIELDS for r in records)
    assert records[0]["name"] == "empty.pdf"  # newest first
    # The runs were recorded in the configured Dagster instance, so the UI shows them.
    assert any((settings.dagster_home / "history").rglob("*.db"))
    human = fileproc(settings, "records")
    assert "quarantined" in human.stdout and "lending_policy" in human.stdout


def test_upload_is_atomic_copy(settings: Settings, samples: dict[str, Path]) -> None:
    result = fileproc(settings, "upload", str(samples["notice_scan"]), str(samples["notice_scan"]))
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(settings.upload_dir)) == ["notice_scan (1).png", "notice_scan.png"]
