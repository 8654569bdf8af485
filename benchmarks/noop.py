"""Cheap stand-ins for the pipeline's detection and extraction (orchestration overhead).

They keep the signatures of ``fileproc_dagster.describe.detect.detect`` and
``fileproc_dagster.describe.describe`` and live in an importable module, so the extraction
worker process can unpickle ``describe`` by reference.
"""

from __future__ import annotations

from pathlib import Path

from fileproc_dagster.describe.model import Description, Detection, ExtractOptions, FileKind


def detect(path: Path, options: ExtractOptions | None = None) -> Detection:
    """Every file is a plain-text document (nothing is read)."""
    return Detection(FileKind.DOCUMENT, "text/plain", "benchmark no-op detection")


def describe(path: Path, detection: Detection, options: ExtractOptions | None) -> Description:
    """A constant one-word description (non-empty text, so the has_text check passes)."""
    return Description(description="no-op", text="no-op")
