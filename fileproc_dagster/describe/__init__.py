"""Describe: detection from content, extractors (functions of a path), the bounded worker."""

from __future__ import annotations

from pathlib import Path

from fileproc_dagster.describe.formats import for_mime
from fileproc_dagster.describe.model import Description, Detection, ExtractOptions
from fileproc_dagster.errors import BadInput


def warm_up() -> None:
    """Import the document and image extractors (NumPy, OpenCV, Pillow) before the first file.

    The image tagger and face detector (a second of CPU) load with the first photo: a run of
    documents or recordings never pays for them, and a page queued behind the warm-up does not
    wait for them.
    """
    import fileproc_dagster.describe.documents.describe
    import fileproc_dagster.describe.images.describe  # noqa: F401


def describe(path: Path, detection: Detection, options: ExtractOptions) -> Description:
    """Describe a file of a detected kind with its format's reader (see ``formats.py``)."""
    if path.stat().st_size == 0:
        raise BadInput("empty file (0 bytes)")
    mime = detection.mime.split(";")[0].strip().lower()
    found = for_mime(mime, detection.kind)
    if found is None or not found.reader:
        raise BadInput(f"{mime} is not a {detection.kind} format that can be read",
                       verdict="unsupported")
    # Imported per format so a worker only loads the libraries (and models) it needs.
    return found.read()(path, mime, options)
