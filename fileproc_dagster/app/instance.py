"""The Dagster home of the embedded default."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path


def prepare_dagster_home(dagster_home: Path) -> Path:
    """Create DAGSTER_HOME and give it the packaged dagster.yaml unless it has its own."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    target = dagster_home / "dagster.yaml"
    if not target.exists():
        with resources.as_file(resources.files("fileproc_dagster.app") / "dagster.yaml") as source:
            shutil.copyfile(source, target)
    return target
