"""Describe: detection from content, extractors (functions of a path), the bounded worker."""

from __future__ import annotations

from pathlib import Path

from fileproc_dagster.errors import BadInput
from fileproc_dagster.describe.model import Description, Detection, ExtractOptions, FileKind


def warm_up() -> None:
    """Import the document and image extractors (NumPy, OpenCV, Pillow) before the first file.

    The image tagger and face detector (a second of CPU) load with the first photo: a run of
    documents or recordings never pays for them, and a page queued behind the warm-up does not
    wait for them.
    """
    from fileproc_dagster.describe import documents, images  # noqa: F401


def describe(path: Path, detection: Detection, options: ExtractOptions) -> Description:
    """Describe a file of a detected kind: OCR text, image facts or a transcript."""
    # Imported per kind so a worker only loads the libraries (and models) it needs.
    if detection.kind is FileKind.DOCUMENT:
        from fileproc_dagster.describe.documents import describe_document

        return describe_document(path, detection.mime, options)
    if detection.kind is FileKind.IMAGE:
        from fileproc_dagster.describe.images import describe_image

        return describe_image(path, options)
    if detection.kind is FileKind.AUDIO:
        from fileproc_dagster.describe.audio import describe_audio

        return describe_audio(path, options)
    raise BadInput(f"no extractor for {detection.mime}", verdict="unsupported")
