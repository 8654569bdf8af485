"""notebooks/explore_results.ipynb is kept without outputs and runs top to bottom against a
FILEPROC_HOME processed from corpus files (the samples without the corpus)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "explore_results.ipynb"
pytestmark = pytest.mark.slow


def test_the_notebook_is_kept_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_the_notebook_runs_top_to_bottom(explored: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FILEPROC_HOME", str(explored.home))
    monkeypatch.setenv("DAGSTER_HOME", str(explored.home / "dagster"))
    monkeypatch.delenv("FILEPROC_DB_URL", raising=False)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                   for o in outputs)
    html = "".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    records = len(explored.processed["key"].unique())
    assert f"{records} records in {explored.home}" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the plot
    assert html.count("data:image/png;base64,") >= 2  # thumbnails: the gallery and a record
    assert "0:00.0 –" in html  # the transcript's first segment, timed
    assert "policy" in html.lower()  # the search found a file
    assert "words with eng" in text and "with deu" in text  # OCR read again
