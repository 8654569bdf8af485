"""The ``fileproc`` command, as a user runs it: a subprocess, in a pipe or on a terminal."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

from fileproc_dagster.app.cli import cli
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.states import State

# The fields of records --json, the same as show --json's (storage/fields.py).
FIELDS = {"uuid", "key", "name", "type", "mime", "size", "sha256", "location", "state",
          "description", "text", "markdown", "tables", "details", "error", "created_at",
          "updated_at", "quarantine", "parent_key"}
# The command of this checkout (python -m), whatever copy of the package is installed.
COMMAND = [sys.executable, "-m", "fileproc_dagster.app.cli"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {**os.environ, "FILEPROC_HOME": str(settings.home), **extra}


def fileproc(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args], env=_env(settings, **env), capture_output=True,
                          text=True, timeout=600)


def on_terminal(settings: Settings, *args: str) -> tuple[int, str]:
    """Run the command with a pseudo-terminal as its standard output and error."""
    leader, follower = pty.openpty()
    env = _env(settings, TERM="xterm-256color", COLUMNS="160", LINES="50")
    env.pop("NO_COLOR", None)
    process = subprocess.Popen([*COMMAND, *args], stdin=subprocess.DEVNULL, stdout=follower,
                               stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(60), b"".join(chunks).decode(errors="replace")


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


def test_every_command_and_option_has_help_with_an_example(settings: Settings) -> None:
    assert isinstance(cli, click.Group)
    for name, command in cli.commands.items():
        shown = fileproc(settings, name, "--help")
        assert shown.returncode == 0, shown.stderr
        assert "Examples:" in shown.stdout and f"fileproc {name}" in shown.stdout, name
        for param in command.params:
            assert not isinstance(param, click.Option) or param.help, (name, param.name)
    top = fileproc(settings, "--help")
    assert all(name in top.stdout for name in cli.commands) and "Examples:" in top.stdout


def test_records_filters_and_show_a_whole_record(settings: Settings, samples: dict[str, Path],
                                                 tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    done = fileproc(settings, "process", "--json", str(samples["delivery_message"]),
                    str(samples["notice_scan"]), str(empty))
    audio, scan, bad = (json.loads(line) for line in done.stdout.splitlines())

    def keys(*args: str) -> list[str]:
        listed = fileproc(settings, "records", "--json", *args)
        assert listed.returncode == 0, listed.stderr
        return [r["key"] for r in json.loads(listed.stdout)]

    assert keys() == [bad["key"], scan["key"], audio["key"]]
    assert keys("--state", "quarantined") == [bad["key"]]
    assert keys("--state", "done", "--type", "audio") == [audio["key"]]
    assert keys("--type", "image", "--type", "document") == [scan["key"]]
    assert keys("--since", "1h", "--limit", "2") == [bad["key"], scan["key"]]
    assert keys("--since", "2099-01-01") == []
    plain = fileproc(settings, "records", "--state", "done").stdout.splitlines()
    assert [line.split()[:2] for line in plain] == [["done", "document"], ["done", "audio"]]

    shown = fileproc(settings, "show", audio["key"])
    assert shown.returncode == 0, shown.stderr
    assert f"uuid         {audio['uuid']}" in shown.stdout
    assert audio["location"] in shown.stdout  # where the object is
    transcript = shown.stdout.split("-- transcript --\n")[1].splitlines()
    assert re.fullmatch(r"\[00:00\.\d → 00:0\d\.\d\] .*[Tt]est recording\.", transcript[0])
    assert re.fullmatch(r"\[00:0\d\.\d → 00:\d\d\.\d\] .*[Dd]elivery.*", transcript[1])
    by_uuid = fileproc(settings, "show", "--json", audio["uuid"])
    whole = json.loads(by_uuid.stdout)
    assert whole["key"] == audio["key"] and whole["details"]["segments"]
    assert whole["created_at"] and whole["quarantine"] is None
    kept = json.loads(fileproc(settings, "show", "--json", bad["key"]).stdout)
    assert kept["quarantine"] == str(settings.quarantine_dir / bad["key"])
    text = fileproc(settings, "show", scan["key"]).stdout
    assert "-- text --" in text and "Tenants" in text


def test_search_ranks_the_records(settings: Settings, samples: dict[str, Path]) -> None:
    done = fileproc(settings, "process", "--json", str(samples["lending_policy"]),
                    str(samples["notice_scan"]))
    policy, scan = (json.loads(line) for line in done.stdout.splitlines())
    found = fileproc(settings, "search", "--json", "borrow")
    assert found.returncode == 0, found.stderr
    assert [r["key"] for r in json.loads(found.stdout)][:1] == [policy["key"]]
    plain = fileproc(settings, "search", "tenants")
    assert plain.stdout.split()[2] == scan["key"]
    nothing = fileproc(settings, "search", "xylophone")
    assert (nothing.returncode, nothing.stdout) == (0, "")
    assert "no record matches" in nothing.stderr


def test_bad_arguments_get_one_readable_line(settings: Settings, tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory\n")
    cases = [
        (("frobnicate",), "No such command"),
        (("process",), "Missing argument"),
        (("records", "--state", "lost"), "'lost' is not one of"),
        (("records", "--since", "yesterday"), "neither a span"),
        (("records", "--limit", "0"), "--limit"),
        (("show", "nope-000000000000"), "no record has the key or uuid"),
        (("release", "nope-000000000000"), "no record for"),
        (("release", "../etc"), "not a partition key"),
        (("upload", str(tmp_path / "missing.pdf")), "No such file or directory"),
        (("status", "--stale-after", "soon"), "not a valid float"),
    ]
    for args, expected in cases:
        result = fileproc(settings, *args)
        assert result.returncode != 0, args
        assert "Traceback" not in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
        assert expected in result.stderr, (args, result.stderr)
    # A path that cannot be read is one failed file, with its reason, among the others.
    result = fileproc(settings, "process", str(a_file / "sub"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stdout.startswith("failed ") and result.stdout.endswith("Not a directory\n")
    # The upload directory is a file: the directory cannot be made or read.
    result = fileproc(settings, "upload", str(a_file), FILEPROC_UPLOAD_DIR=str(a_file))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"fileproc upload: File exists: {a_file}"
    result = fileproc(settings, "records", FILEPROC_MAX_UPLOAD_BYTES="lots")
    assert result.returncode == 1 and "bad configuration: not a size" in result.stderr


def test_terminal_gets_progress_and_colour_a_pipe_plain_lines(settings: Settings,
                                                              tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    for i in range(20):
        (batch / f"note_{i:02d}.txt").write_text(f"Minutes of meeting {i}: budget {i * 37}.\n")
    code, screen = on_terminal(settings, "process", str(batch))
    assert code == 0, screen
    plain = ANSI.sub("", screen)
    # The bar: files done of the total, the current file, elapsed and remaining time.
    # Which frames are drawn depends on timing: any one in the middle, the file it names
    # being the next one after those done.
    frames = [(int(done), int(current)) for done, current in re.findall(
        r"processing [^\r\n]* (\d+)/20 files \d:\d\d:\d\d eta [-:\d]+ note_(\d\d)\.txt", plain)]
    middle = [frame for frame in frames if 0 < frame[0] < 20]
    assert middle and all(done == current for done, current in middle), frames
    assert re.search(r"20/20 files", plain)
    summaries = [line for line in plain.splitlines() if line.startswith("done  ")]
    assert len(summaries) == 20 and summaries[-1].split()[2].startswith("note_19-")
    assert "20 files in" in plain and "20 done" in plain
    assert "dagster - DEBUG" not in plain  # Dagster's own log only with --verbose
    assert "\x1b[32mdone" in screen  # coloured states

    code, screen = on_terminal(settings, "records", "--limit", "3")
    assert code == 0 and "\x1b[" in screen and "3 records" in ANSI.sub("", screen)
    piped = fileproc(settings, "records", "--limit", "3")
    assert "\x1b[" not in piped.stdout and len(piped.stdout.splitlines()) == 3
    piped = fileproc(settings, "process", str(batch / "note_00.txt"))
    assert "\x1b[" not in piped.stdout + piped.stderr and "processing" not in piped.stderr
    assert piped.stdout.startswith("done        document    note_00-")
    verbose = fileproc(settings, "process", "--verbose", str(batch / "note_01.txt"))
    assert "STEP_SUCCESS" in verbose.stderr


def test_shell_completion(settings: Settings) -> None:
    script = fileproc(settings, "completion", "bash")
    assert script.returncode == 0 and "_FILEPROC_COMPLETE=bash_complete" in script.stdout
    completed = fileproc(settings, _FILEPROC_COMPLETE="bash_complete",
                         COMP_WORDS="fileproc rec", COMP_CWORD="1")
    assert completed.stdout.split() == ["plain,records"]
    options = fileproc(settings, _FILEPROC_COMPLETE="bash_complete",
                       COMP_WORDS="fileproc records --state qu", COMP_CWORD="3")
    assert options.stdout.split() == ["plain,quarantined"]


@pytest.mark.slow
def test_status_tells_a_running_daemon_from_a_dead_one(settings: Settings,
                                                       tmp_path: Path) -> None:
    from daemon import running

    down = fileproc(settings, "status")
    assert down.returncode == 1 and "DOWN: no Dagster instance" in down.stdout, down.stdout
    assert fileproc(settings, "init").returncode == 0
    down = fileproc(settings, "status")
    assert down.returncode == 1 and "DOWN: it never ran" in down.stdout, down.stdout
    (settings.upload_dir / "waiting.txt.part").write_text("being written\n")  # not counted
    (settings.upload_dir / "waiting.txt").write_text("not seen by any sensor yet\n")
    assert re.search(r"^uploads +1 waiting for the sensor", fileproc(settings, "status").stdout,
                     re.M)
    note = tmp_path / "note.txt"
    note.write_text("Minutes of the meeting: the budget was approved.\n")
    with running(settings) as daemon:
        def healthy() -> dict[str, object] | None:
            result = fileproc(settings, "status", "--json")
            report = json.loads(result.stdout)
            ticked = [s for s in report["sensors"] if s["timestamp"] is not None]
            return report if result.returncode == 0 and ticked else None

        report = daemon.wait_for("a healthy status", healthy, timeout_s=180, every_s=2)
        assert report["daemon_up"] and report["uploads_waiting"] in (0, 1)
        assert {"upload_sensor", "reconcile_sensor"} <= {
            s["name"] for s in report["sensors"]}  # type: ignore[attr-defined]
        human = fileproc(settings, "status")
        assert human.returncode == 0, human.stdout
        assert re.search(r"^daemon +running", human.stdout, re.M)
        assert re.search(r"^sensor upload_sensor +last tick \d+(\.\d)? s ago", human.stdout,
                         re.M), human.stdout
        assert re.search(r"^uploads +\d waiting for the sensor, \d registered", human.stdout,
                         re.M)
        assert fileproc(settings, "process", str(note)).returncode == 0
        # The daemon takes the waiting file meanwhile: count what is done around it.
        before = len(Records(settings.db_url).files.all(states=["done"]))
        recent = fileproc(settings, "status").stdout
        after = len(Records(settings.db_url).files.all(states=["done"]))
        shown = re.search(r"^last hour +(\d+) done$", recent, re.M)
        assert shown and 1 <= before <= int(shown.group(1)) <= after, recent
    time.sleep(2)
    # Stopped: its last heartbeat grows old; here "old" is one second.
    dead = fileproc(settings, "status", "--stale-after", "1")
    assert dead.returncode == 1 and re.search(r"^daemon +DOWN", dead.stdout, re.M)
    assert json.loads(fileproc(settings, "status", "--json",
                               "--stale-after", "1").stdout)["daemon_up"] is False
    assert Records(settings.db_url).files.all(states=["done"])  # nothing was lost


def test_search_by_meaning_names_the_passage_similar_and_reindex(settings: Settings) -> None:
    settings.ensure_dirs()
    records = Records(settings.db_url)
    texts = {"reminder.eml": "Dear customer, your payment is thirty days late. Please settle "
             "the amount due this week.",
             "recipe.txt": "Whisk the eggs with sugar, fold in flour and bake for forty "
             "minutes.",
             "second.eml": "Reminder: the invoice for your account is still unpaid."}
    for n, (name, text) in enumerate(texts.items(), start=1):
        records.uploads.receive(f"k{n}", name, f"{n:064x}", n, n)
        records.files.insert(f"k{n}", State.DONE, type="document", description="text",
                             text=text)
    words = fileproc(settings, "search", "overdue invoice", "--mode", "words")
    assert (words.returncode, words.stdout) == (0, "")
    found = fileproc(settings, "search", "--json", "overdue invoice", "--limit", "2")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert {h["key"] for h in hits} == {"k1", "k3"}
    assert set(hits[0]) == FIELDS | {"place", "passage", "page", "start_s", "end_s", "score"}
    assert hits[0]["place"].startswith("words 1–") and "payment" in \
        {h["key"]: h["passage"] for h in hits}["k1"]
    plain = fileproc(settings, "search", "cake baking").stdout.splitlines()
    assert plain[0].split()[2] == "k2" and "words 1–13: Whisk the eggs" in plain[0]
    near = json.loads(fileproc(settings, "similar", "k1", "--json").stdout)
    assert near[0]["key"] == "k3" and "k1" not in [h["key"] for h in near]
    again = fileproc(settings, "reindex")
    assert (again.returncode, again.stdout) == (0, "reindexed 3 records\n"), again.stderr
    missing = fileproc(settings, "similar", "nope")
    assert missing.returncode != 0 and "no record with key or uuid" in missing.stderr
