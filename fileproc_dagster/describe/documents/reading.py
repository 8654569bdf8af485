"""What a document reader got out of a file (its pages and their sources), before the summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fileproc_dagster.describe.ocr.tesseract import OcrResult


@dataclass(frozen=True)
class Page:
    text: str
    source: str  # "text layer", "ocr" or "text"
    ocr: OcrResult | None = None
    why: dict[str, Any] | None = None  # for PDF pages: which source was used and why


@dataclass(frozen=True)
class Read:  # what one reader got out of a file, before it is summarised
    kind: str
    pages: list[Page]
    page_count: int = 0  # when the file says so (a .docx), else one per page read
    thumbnail: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)
