"""Plain text (encoding detected), read into pages without OCR."""

from __future__ import annotations

from pathlib import Path

import charset_normalizer

from fileproc_dagster.describe.documents.reading import Page, Read
from fileproc_dagster.errors import BadInput

_MAX_TEXT_BYTES = 64 * 1024 * 1024
_WESTERN = ("cp1252", "latin_1", "iso8859_15")


def read_text(path: Path) -> Read:
    """A text file, split into pages at form feeds."""
    if path.stat().st_size > _MAX_TEXT_BYTES:
        raise BadInput(f"text file larger than {_MAX_TEXT_BYTES // 2**20} MiB")
    text, encoding = decode_text(path.read_bytes())
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # A form feed is the page break of plain text (printer output, pdftotext).
    pages = [Page(page, "text") for page in text.split("\f")]
    return Read("Text file", pages, extra={"encoding": encoding})


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode bytes of a text file, detecting the encoding; raises BadInput for binary data."""
    try:
        text, encoding = data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = _guess_encoding(data)
    # NUL and other control bytes are valid in some encodings, but not in a text document.
    controls = sum(1 for ch in text if not ch.isprintable() and ch not in "\n\r\t\f\v")
    if controls > 0.01 * max(len(text), 1):
        raise BadInput("not text: it decodes to control characters (binary data?)")
    return text.lstrip("\ufeff"), encoding


def _guess_encoding(data: bytes) -> tuple[str, str]:
    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        raise BadInput("not text: no character encoding decodes it (binary data?)")
    # Short texts often tie between single-byte code pages (cp1250 reads "fête" as "fęte");
    # among equally good ones the Western European page is the likeliest upload.
    best = matches[0]
    tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    match = next((m for m in tied if m.encoding in _WESTERN), best)
    return str(match), match.encoding
