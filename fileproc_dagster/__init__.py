"""fileproc_dagster: uploaded files into processed, searchable records, the Dagster way.

The notebook-facing API::

    import fileproc_dagster as fp
    settings = fp.Settings.from_env()
    list(fp.process_paths(settings, [Path("scan.png")]))   # run the assets in-process
    fp.records_frame(settings)                               # a pandas DataFrame of records
    fp.describe_path(Path("memo.pdf"))                       # just the extractors, no Dagster
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "BadInput", "Description", "Detection", "ExtractOptions", "FileKind", "Outcome",
    "Records", "Settings", "State", "describe_path", "detect", "process_paths", "records_frame",
]

# Imported on first use, so a worker that only extracts does not load Dagster.
_LAZY = {
    "BadInput": "fileproc_dagster.errors",
    "Description": "fileproc_dagster.describe.model",
    "Detection": "fileproc_dagster.describe.model",
    "ExtractOptions": "fileproc_dagster.describe.model",
    "FileKind": "fileproc_dagster.describe.model",
    "Outcome": "fileproc_dagster.app.runner",
    "Records": "fileproc_dagster.storage.records",
    "Settings": "fileproc_dagster.settings",
    "State": "fileproc_dagster.storage.states",
    "describe_path": "fileproc_dagster.app.notebook",
    "detect": "fileproc_dagster.describe.detect",
    "process_paths": "fileproc_dagster.app.runner",
    "records_frame": "fileproc_dagster.app.notebook",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fileproc_dagster' has no attribute {name!r}")
