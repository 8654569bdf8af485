"""Shared fixtures: the development corpus (scored tests), per-test FILEPROC_HOME, and the
real daemon on it."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("FILEPROC_CORPUS", REPO.parent / "shared" / "corpus"))


def _corpus_or_skip() -> Path:
    if (CORPUS / "manifest.json").is_file():
        return CORPUS
    if os.environ.get("CI") == "true":
        pytest.fail(f"the development corpus is missing at {CORPUS} (CI must have it)")
    pytest.skip("development corpus not present (set FILEPROC_CORPUS)")


@pytest.fixture(scope="session")
def corpus() -> Path:
    return _corpus_or_skip()


@pytest.fixture(scope="session")
def manifest(corpus: Path) -> dict[str, dict[str, Any]]:
    """Corpus entries by file name."""
    files = json.loads((corpus / "manifest.json").read_text())["files"]
    return {f["name"]: f for f in files}


@pytest.fixture(scope="session")
def scorer(corpus: Path) -> ModuleType:
    """The corpus's own score.py (word accuracy / WER)."""
    spec = importlib.util.spec_from_file_location("corpus_score", corpus / "score.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The project's own small samples, made from scratch (no corpus needed)."""
    from support.samples import make_all

    made = make_all(tmp_path_factory.mktemp("samples"))
    return {p.stem: p for p in made}


@pytest.fixture()
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh embedded default under a temporary FILEPROC_HOME."""
    from fileproc_dagster.settings import Settings

    monkeypatch.setenv("FILEPROC_HOME", str(tmp_path / "home"))
    for var in ("FILEPROC_UPLOAD_DIR", "FILEPROC_STORE_DIR", "FILEPROC_QUARANTINE_DIR",
                "FILEPROC_OUTBOX", "FILEPROC_DB_URL", "DAGSTER_HOME", "FILEPROC_NOTIFY_URLS"):
        monkeypatch.delenv(var, raising=False)
    resolved = Settings.from_env()
    resolved.ensure_dirs()
    return resolved


@pytest.fixture()
def daemon(settings: Any) -> Iterator[Any]:
    """``dagster-daemon run`` on the temporary settings, sensor ticking every second."""
    from daemon import running

    with running(settings):
        yield settings
