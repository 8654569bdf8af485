"""The notebook in notebooks/ runs top to bottom."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from fileproc_dagster.settings import Settings

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_explore_notebook_runs(settings: Settings, samples: dict[str, Path],
                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The notebook reads ../samples relative to itself: give it the freshly made samples.
    workdir = tmp_path / "project"
    (workdir / "notebooks").mkdir(parents=True)
    shutil.copytree(samples["notice_scan"].parent, workdir / "samples")
    notebook = nbformat.read(REPO / "notebooks" / "explore.ipynb", as_version=4)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(workdir / "notebooks")}}).execute()
    outputs = "".join(str(o) for cell in notebook.cells for o in cell.get("outputs", []))
    assert "done" in outputs and "Traceback" not in outputs
