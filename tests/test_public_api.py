"""The public API as type checkers see it: mypy, run on code that uses ``fileproc_dagster`` as
an installed package (PEP 561: found on the path, typed through ``py.typed``), knows the
signatures of ``fp.records``, ``fp.record``, ``fp.search`` and ``fp.process`` and flags a call
that breaks them, although the package loads those names lazily at run time."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from importlib.util import find_spec
from pathlib import Path

import pytest

PACKAGE = Path(str(find_spec("fileproc_dagster").origin)).parent  # type: ignore[union-attr]

# Each line ending in ``# E: code`` must be flagged with that code, and nothing else may be.
SNIPPET = '''\
from datetime import timedelta

import fileproc_dagster as fp

view = fp.record("letter-4aad360a2c10")
reveal_type(view)
reveal_type(fp.record)
reveal_type(fp.records)
reveal_type(fp.search)
reveal_type(fp.process)
fp.records(type=["image", "audio"], state="done", since=timedelta(days=1))
fp.search("staircase", limit=5)
fp.process(["scan.png"], ocr_language="eng", progress=False)
options: fp.ExtractOptions = fp.ExtractOptions(ocr_language="deu")
fp.search("staircase", limit="5")  # E: arg-type
fp.record(42)  # E: arg-type
fp.records(since=3.5)  # E: arg-type
fp.process("scan.png", settings="home")  # E: arg-type
fp.recrods()  # E: attr-defined
'''


def _mypy(tmp_path: Path, code: str) -> list[str]:
    """mypy's lines on ``code``, the package found on PYTHONPATH as an installed one."""
    (tmp_path / "use.py").write_text(code)
    (tmp_path / "mypy.ini").write_text("[mypy]\n")  # not the project's settings
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--config-file", "mypy.ini", "--cache-dir",
         str(tmp_path / "cache"), "--no-error-summary", "--show-error-codes", "use.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, 1), done.stderr
    return done.stdout.splitlines()


@pytest.mark.slow
def test_type_checkers_see_the_notebook_api(tmp_path: Path) -> None:
    said = _mypy(tmp_path, SNIPPET)
    lines = SNIPPET.splitlines()
    revealed = {lines[int(m[1]) - 1]: m[2] for m in
                (re.match(r"use\.py:(\d+): note: Revealed type is \"(.*)\"", s) for s in said)
                if m}
    assert revealed["reveal_type(view)"] == "fileproc_dagster.app.views.RecordView"
    assert revealed["reveal_type(fp.record)"].startswith("def (key_or_uuid: str, *, settings: "
                                                          "fileproc_dagster.settings.Settings")
    assert revealed["reveal_type(fp.search)"].startswith("def (query: str, limit: int =")
    assert "since: datetime.datetime | datetime.date | datetime.timedelta | str | None =" in \
        revealed["reveal_type(fp.records)"]
    assert revealed["reveal_type(fp.process)"].startswith(
        "def (paths: str | pathlib.Path | typing.Sequence[str | pathlib.Path], *, settings:")
    errors = sorted((int(m[1]), m[2]) for m in
                    (re.match(r"use\.py:(\d+): error: .*\[([a-z-]+)\]$", s) for s in said) if m)
    expected = sorted((n, line.rsplit("# E: ", 1)[1])
                      for n, line in enumerate(lines, start=1) if "# E: " in line)
    assert errors == expected, "\n".join(said)
    unexplained = [s for s in said if ": error:" in s and not s.startswith("use.py:")]
    assert unexplained == []


def test_every_lazy_name_is_seen_by_type_checkers() -> None:
    """The names ``__init__`` loads on first use are the ones it imports for type checkers."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    lazy: dict[str, str] = {}
    typed: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(node.value, ast.Dict):
            lazy = {ast.literal_eval(k): ast.literal_eval(v)  # type: ignore[arg-type]
                    for k, v in zip(node.value.keys, node.value.values, strict=True)}
        elif isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            typed = {alias.name: imported.module or "" for imported in node.body
                     if isinstance(imported, ast.ImportFrom) for alias in imported.names}
    import fileproc_dagster as fp

    assert lazy and lazy == typed
    assert sorted(lazy) == sorted(fp.__all__)


def test_the_package_is_marked_typed() -> None:
    assert (PACKAGE / "py.typed").is_file()
    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["fileproc_dagster"]
    assert any(d.startswith("mypy") for d in project["project"]["optional-dependencies"]["dev"])
