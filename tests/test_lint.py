"""The code as the linters see it: ruff (style, import order) and mypy (strict types) pass on
the package, the tests, the benchmarks and the scripts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)


def test_ruff_passes() -> None:
    done = _run(str(BIN / "ruff"), "check", "fileproc_dagster", "tests", "benchmarks", "scripts")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_passes_on_the_package_and_the_benchmarks() -> None:
    done = _run(sys.executable, "-m", "mypy", "fileproc_dagster", "benchmarks")
    assert done.returncode == 0, done.stdout + done.stderr
