"""Describe: detection from content, extractors (functions of a path), the bounded worker."""

from __future__ import annotations

from pathlib import Path

from fileproc_dagster.errors import BadInput
from fileproc_dagster.describe.model import Description, Detection, ExtractOptions, FileKind


def warm_up(image_tags: bool = True) -> None:
    """Import the document and image extractors (NumPy, OpenCV, Pillow) before the first file,
    and load the image tagger and face detector unless ``image_tags`` is off."""
    from fileproc_dagster.describe import documents, images  # noqa: F401

    if image_tags:
        from fileproc_dagster.describe.vision import models

        models()


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
