"""fileproc_dagster: uploaded files into processed, searchable records, the Dagster way.

The notebook-facing API (the installation of ``FILEPROC_HOME`` unless ``settings=`` is given)::

    import fileproc_dagster as fp
    fp.process(["scan.png", "memo.pdf"], ocr_language="eng")  # the assets, in-process: a DataFrame
    fp.records(type="document", state="done")               # one row per record, typed columns
    fp.search("late payment", limit=5)                      # by words and meaning, with passages
    fp.similar("scan-4aad360a2c10")                         # records near one in meaning
    fp.record("scan-4aad360a2c10")                          # thumbnail, text, transcript
    fp.describe_path("memo.pdf")                            # just the extractors, no Dagster
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = [
    "BadInput", "Description", "Detection", "ExtractOptions", "FileKind", "Outcome",
    "RecordView", "Records", "SearchError", "Settings", "State", "describe_path", "detect",
    "process", "process_paths", "record", "records", "records_frame", "search",
    "similar",
]

# Imported on first use, so a worker that only extracts does not load Dagster.
_LAZY = {
    "BadInput": "fileproc_dagster.errors",
    "Description": "fileproc_dagster.describe.model",
    "Detection": "fileproc_dagster.describe.model",
    "ExtractOptions": "fileproc_dagster.describe.model",
    "FileKind": "fileproc_dagster.describe.model",
    "Outcome": "fileproc_dagster.app.runner",
    "RecordView": "fileproc_dagster.app.views",
    "Records": "fileproc_dagster.storage.records",
    "SearchError": "fileproc_dagster.storage.search",
    "Settings": "fileproc_dagster.settings",
    "State": "fileproc_dagster.storage.states",
    "describe_path": "fileproc_dagster.app.notebook",
    "detect": "fileproc_dagster.describe.detect",
    "process": "fileproc_dagster.app.notebook",
    "process_paths": "fileproc_dagster.app.runner",
    "record": "fileproc_dagster.app.notebook",
    "records": "fileproc_dagster.app.notebook",
    "records_frame": "fileproc_dagster.app.notebook",
    "search": "fileproc_dagster.app.notebook",
    "similar": "fileproc_dagster.app.notebook",
}


if TYPE_CHECKING:
    # What type checkers see: the same names, imported eagerly (checked against _LAZY by
    # tests/test_public_api.py).
    from fileproc_dagster.app.notebook import (
        describe_path,
        process,
        record,
        records,
        records_frame,
        search,
        similar,
    )
    from fileproc_dagster.app.runner import Outcome, process_paths
    from fileproc_dagster.app.views import RecordView
    from fileproc_dagster.describe.detect import detect
    from fileproc_dagster.describe.model import Description, Detection, ExtractOptions, FileKind
    from fileproc_dagster.errors import BadInput
    from fileproc_dagster.settings import Settings
    from fileproc_dagster.storage.records import Records
    from fileproc_dagster.storage.search import SearchError
    from fileproc_dagster.storage.states import State
else:
    def __getattr__(name: str) -> Any:
        if name in _LAZY:
            return getattr(import_module(_LAZY[name]), name)
        raise AttributeError(f"module 'fileproc_dagster' has no attribute {name!r}")
