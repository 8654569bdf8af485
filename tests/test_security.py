"""Untrusted names never reach a shell, a path outside our directories, or SQL text."""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import hostile as h
import pytest
import sqlalchemy as sa

from fileproc_dagster.app.cli import cli
from fileproc_dagster.app.runner import Outcome, process_paths
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.objects import LocalObjectStore, object_key
from fileproc_dagster.storage.records import Records

PACKAGE = Path(__file__).resolve().parents[1] / "fileproc_dagster"
CANARY = "PWNED"

HOSTILE_NAMES = [
    f"$(touch {CANARY}).txt",
    f"`touch {CANARY}`.txt",
    f"; touch {CANARY} #.txt",
    f"| touch {CANARY} &&.txt",
    "x'); DROP TABLE files;--.txt",
    "Robert\"); DELETE FROM uploads; --.txt",
    "--help.txt",
    "-rf .txt",
    "..txt",
    "%s%n%x{0}.txt",
    "concat:a.txt|b.txt",
    "line\nbreak\r\n.txt",
    "\u202etxt.exe",
    "Ω≈ç√ 日本語 emoji 🎉.txt",
    "n" * 240 + ".txt",
]


def _process(settings: Settings, tmp_path: Path, names: list[str],
             bad: bool = False) -> Iterator[tuple[str, Path, Outcome]]:
    """Process a file under each name: distinct text, or distinct random bytes if ``bad``."""
    sources = [h.write(tmp_path / "src" / str(i), name,
                       h.random_bytes(500, i) if bad else h.text(f"topic {i}"))
               for i, name in enumerate(names)]
    with dg.instance_for_test() as instance:
        outcomes = process_paths(settings, sources, instance=instance)
        yield from zip(names, sources, outcomes, strict=True)


def _all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() or p.is_symlink()]


def test_hostile_names_are_processed_and_round_trip(settings: Settings, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a shell that ran a name would create PWNED right here
    store = LocalObjectStore(settings.store_dir)
    for name, source, outcome in _process(settings, tmp_path, HOSTILE_NAMES):
        record = outcome.record
        assert record is not None and record.state == "done", (name, outcome.error)
        assert record.name == name  # bound as a parameter: the exact text comes back
        # Object keys come from content: the location is the digest's, nothing of the name.
        assert record.location == store.location(record.sha256)
        assert record.location.endswith(object_key(record.sha256))
        assert all(c.isalnum() or c in "-_" for c in record.key)
        assert source.exists()
    assert not list(tmp_path.rglob(CANARY))  # what `touch PWNED` would have made
    records = Records(settings.db_url)
    assert {"files", "uploads", "notifications"} <= set(sa.inspect(records.db.engine)
                                                         .get_table_names())
    assert len(records.files.all()) == len(HOSTILE_NAMES)
    assert os.listdir(settings.upload_dir) == []
    # Every stored byte lives under the store, named by content only.
    for path in _all_files(settings.store_dir):
        relative = path.resolve().relative_to(settings.store_dir.resolve())
        assert re.fullmatch(r"(objects|thumbnails)/[0-9a-f]{2}/[0-9a-f]{64}(\.png)?",
                            relative.as_posix()), relative


def test_hostile_names_through_the_quarantine_path(settings: Settings, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    outcomes = list(_process(settings, tmp_path, HOSTILE_NAMES, bad=True))
    for name, source, outcome in outcomes:
        record = outcome.record
        assert record is not None and record.state == "quarantined", name
        assert record.name == name and "unrecognised content" in (record.error or "")
        kept = settings.quarantine_dir / record.key / name
        assert kept.read_bytes() == source.read_bytes()
    for path in _all_files(settings.quarantine_dir):
        assert path.resolve().is_relative_to(settings.quarantine_dir.resolve())
        assert path.parent.parent == settings.quarantine_dir  # quarantine/<key>/<name>
    assert not list(tmp_path.rglob(CANARY))
    assert os.listdir(settings.upload_dir) == []


def test_same_content_under_another_name_is_the_same_object(settings: Settings,
                                                            tmp_path: Path) -> None:
    data = h.text("identical")
    first = h.write(tmp_path / "a", "report.txt", data)
    second = h.write(tmp_path / "b", "../../other name.txt".replace("/", "_"), data)
    with dg.instance_for_test() as instance:
        one, two = process_paths(settings, [first, second], instance=instance)
    assert one.record and two.record and two.duplicate
    assert one.record.location == two.record.location
    assert "report" not in (one.record.location or "")
    assert len(_all_files(settings.store_dir / "objects")) == 1


def test_the_webserver_listens_on_loopback_by_default() -> None:
    args = SimpleNamespace(**cli.commands["dev"].make_context("dev", []).params)
    assert (args.host, args.port) == ("127.0.0.1", 3000)


def _calls(tree: ast.AST) -> Iterator[tuple[str, ast.Call]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield ast.unparse(node.func), node


def test_processes_are_started_only_where_reviewed_and_never_through_a_shell() -> None:
    """Each new call site must be added here after checking no name reaches its command."""
    reviewed = {
        # tesseract reads the page as PNG on stdin: ["tesseract", "stdin", "stdout", -l, lang]
        ("describe/ocr/tesseract.py", "subprocess.run"),
        # the installed language packs: ["tesseract", "--list-langs"], no argument of ours
        ("describe/ocr/languages.py", "subprocess.run"),
        # `fileproc dev` replaces itself with `dagster dev -h HOST -p PORT`
        ("app/cli/setup.py", "os.execvp"),
    }
    starters = ("subprocess.", "os.system", "os.popen", "os.exec", "os.spawn", "os.posix_spawn",
                "pty.spawn", "asyncio.create_subprocess")
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for name, call in _calls(tree):
            if name.startswith(starters):
                found.add((path.relative_to(PACKAGE).as_posix(), name))
                shell = [k for k in call.keywords if k.arg == "shell"]
                assert not shell, f"{path}: {name} with shell="
    assert found == reviewed


def test_database_statements_are_never_built_from_text() -> None:
    """SQLAlchemy Core binds every value; no module assembles SQL strings."""
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for name, _ in _calls(tree):
            assert name not in {"sa.text", "sqlalchemy.text", "text", "exec_driver_sql"} and \
                not name.endswith(".exec_driver_sql"), f"{path}: {name}"
