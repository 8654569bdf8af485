"""The kinds of file we process and the result every extractor returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

PDF_MIME = "application/pdf"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


class FileKind(StrEnum):
    DOCUMENT = "document"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    ARCHIVE = "archive"  # opened into its members, each a file of its own
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class Detection:
    """What a file is, decided from its content: the kind, the MIME type and why."""

    kind: FileKind
    mime: str
    reason: str = ""


@dataclass(frozen=True)
class Table:
    """A table found in a file (a sheet, a Word/HTML/slide table): its name and its rows of
    cell texts, the first row the header."""

    name: str
    rows: list[list[str]]


@dataclass(frozen=True)
class Description:
    """What an extractor found in one file.

    ``description`` is one human-readable line, ``text`` the recognised text (OCR, transcript or
    text found in a picture), ``details`` type-specific facts (JSON-serialisable; a document's
    properties under ``properties``: title, author, subject, created, modified, language,
    producer) and ``thumbnail`` an optional small PNG for previews. ``markdown`` is the text
    with its structure (headings, lists, tables, page or slide boundaries) where the format
    has one; ``tables`` the tables found.
    """

    description: str
    text: str
    details: dict[str, Any] = field(default_factory=dict)
    thumbnail: bytes | None = None
    markdown: str = ""
    tables: tuple[Table, ...] = ()


@dataclass(frozen=True)
class ExtractOptions:
    """Knobs of the extractors; every field is also Dagster config."""

    ocr_language: str = "auto"  # detect per page; or tesseract language(s): deu, eng+fra
    ocr_timeout_s: float = 120.0
    whisper_backend: str = "faster-whisper"
    whisper_model: str = ""  # empty: the packaged tiny.en model
    max_pages: int = 200
    max_image_pixels: int = 100_000_000
    image_tags: bool = True  # tag what pictures show and count faces (describe/images/vision.py)
    max_video_transcribe_s: float = 1800.0  # a longer video's audio is transcribed this far
    max_keyframes: int = 4  # keyframes of a video decoded, tagged and shown as its preview
    # Archives and mails (describe/containers/): bytes unpacked in all, times the container's
    # size, members, and how deep containers in containers are opened.
    archive_max_bytes: int = 1 << 30
    archive_max_ratio: float = 100.0
    archive_max_members: int = 1000
    archive_max_depth: int = 3


SNIPPET_CHARS = 60


def snippet(text: str) -> str:
    """The start of a text for a description's one line: whole words, at most 60 characters."""
    flat = " ".join(text.split())
    if len(flat) <= SNIPPET_CHARS:
        return flat
    cut = flat[:SNIPPET_CHARS].rsplit(" ", 1)[0] or flat[:SNIPPET_CHARS]
    return cut + " ..."
