"""Text of documents: PDFs (text layer, else OCR), plain text and scanned page images.

Example::

    from pathlib import Path
    from fileproc_dagster.describe.documents.describe import describe_document
    from fileproc_dagster.describe.model import ExtractOptions

    result = describe_document(Path("report.pdf"), "application/pdf", ExtractOptions())
    print(result.description)  # PDF, 3 pages, 412 words: Riverside Rowing Club Annual ...
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
from PIL import Image

from fileproc_dagster.describe.documents.layer_check import check_layer
from fileproc_dagster.describe.documents.reading import Page, Read
from fileproc_dagster.describe.documents.text_layer import (
    agreement,
    over_image,
    suspect_share,
    too_suspect,
)
from fileproc_dagster.describe.documents.textfiles import read_text
from fileproc_dagster.describe.markdown import paged
from fileproc_dagster.describe.model import (
    PDF_MIME,
    Description,
    Detection,
    ExtractOptions,
    FileKind,
    snippet,
)
from fileproc_dagster.describe.ocr.languages import language_details, read_page
from fileproc_dagster.errors import BadInput

log = logging.getLogger(__name__)

_RENDER_DPI = 300
_MAX_RENDER_PIXELS = 40_000_000  # a poster-sized page is rendered below 300 dpi instead
_THUMBNAIL_PX = 256
_TRUSTED_OCR = 70.0  # mean word confidence at which tesseract's page reading may replace a layer
_MIN_LAYER_CHARS = 20  # fewer letters/digits than this on a PDF page: treat it as a scan
_PDF_PASSWORD_ERROR = 4  # PDFium's FPDF_ERR_PASSWORD
# The document information dictionary's keys, as the record's properties name them.
_PDF_PROPERTIES = {"Title": "title", "Author": "author", "Subject": "subject",
                   "Keywords": "keywords", "Creator": "creator", "Producer": "producer",
                   "CreationDate": "created", "ModDate": "modified"}
_PDF_DATE = re.compile(r"D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?"
                       r"(?:([Zz+-])(\d{2})?'?(\d{2})?'?)?")
_PDF_UNSET = {"", "(unspecified)", "untitled", "unknown"}


def describe_document(path: Path, mime: str, options: ExtractOptions) -> Description:
    """Recognise the text of one document of any document format the registry knows."""
    from fileproc_dagster.describe import describe

    return describe(path, Detection(FileKind.DOCUMENT, mime), options)


def describe_pdf(path: Path, mime: str, options: ExtractOptions) -> Description:
    """A PDF's pages: the text layer where it reads well, else OCR of the rendered page; its
    Markdown is the pages' texts, each after a ``<!-- page N -->`` line (``markdown.py``)."""
    read = _read_pdf(path, options)
    return replace(_describe(read, mime, options), markdown=paged([p.text for p in read.pages]))


def describe_text(path: Path, mime: str, options: ExtractOptions) -> Description:
    """A text file, its Markdown the text as it is (a Markdown file is its own)."""
    described = _describe(read_text(path), mime, options)
    return replace(described, markdown=described.text)


def describe_page_image(path: Path, mime: str, options: ExtractOptions) -> Description:
    """A scanned page (or pages, in a multi-page TIFF): OCR of every frame; its Markdown the
    pages' texts, each after a ``<!-- page N -->`` line."""
    label = mime.removeprefix("image/").removeprefix("x-").upper()
    read = _read_images(path, f"{label} page image", options)
    return replace(_describe(read, mime, options), markdown=paged([p.text for p in read.pages]))


def probe_pdf(path: Path, mime: str, options: ExtractOptions) -> Detection:
    """A PDF must open and have pages: damaged and password-protected ones stop here."""
    pdf = open_pdf(path)
    try:
        pages = len(pdf)
    finally:
        pdf.close()
    if pages == 0:
        raise BadInput("PDF has no pages")
    return Detection(FileKind.DOCUMENT, PDF_MIME,
                     f"PDF document, {pages} page{'s' if pages != 1 else ''}")


def _describe(read: Read, mime: str, options: ExtractOptions) -> Description:
    text = "\n\n".join(p.text.strip("\n") for p in read.pages if p.text.strip())
    words = len(text.split())
    pages = read.page_count or len(read.pages)
    sources = sorted({p.source for p in read.pages})
    details: dict[str, Any] = {
        "kind": read.kind,
        "mime": mime,
        "pages": pages,
        "source": sources[0] if len(sources) == 1 else "mixed",
        "page_sources": [p.source for p in read.pages],
        "words": words,
        "chars": len(text),
        **read.extra,
    }
    if any(p.why for p in read.pages):
        details["page_reads"] = [{"page": n, "source": p.source, **(p.why or {})}
                                 for n, p in enumerate(read.pages, start=1)]
    ocred = [(i + 1, p.ocr) for i, p in enumerate(read.pages) if p.ocr is not None]
    if ocred:
        ocr_words = sum(r.words for _, r in ocred)
        details["ocr_mean_confidence"] = round(
            sum(r.mean_confidence * r.words for _, r in ocred) / ocr_words, 2) if ocr_words else 0.0
        details["ocr_seconds"] = round(sum(r.seconds for _, r in ocred), 2)
        details["ocr_pages"] = [
            {"page": n, "words": r.words, "confidence": r.mean_confidence,
             "skew_deg": r.skew_deg, "rotated_deg": r.rotated_deg, "seconds": round(r.seconds, 2),
             "language": r.language}
            for n, r in ocred
        ]
    details.update(language_details([r for _, r in ocred], text, options.ocr_language))
    summary = f"{read.kind}, {pages} page{'' if pages == 1 else 's'}, {words} words"
    description = f"{summary}: {snippet(text)}" if text else f"{summary}: no text found"
    log.info("%s", description)
    return Description(description=description, text=text, details=details,
                       thumbnail=read.thumbnail)



def _ocr_page(image: Image.Image, options: ExtractOptions) -> Page:
    result = read_page(image, language=options.ocr_language, timeout_s=options.ocr_timeout_s)
    return Page(result.text, "ocr", result)


def _png(image: Image.Image) -> bytes:
    image = image.copy()
    image.thumbnail((_THUMBNAIL_PX, _THUMBNAIL_PX))
    if image.mode not in ("1", "L", "RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def open_pdf(path: Path) -> pdfium.PdfDocument:
    """Open a PDF; damaged and password-protected ones raise BadInput with the reason."""
    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == _PDF_PASSWORD_ERROR:
            raise BadInput("encrypted PDF: a password is needed to read it",
                           verdict="unsupported") from exc
        raise BadInput(f"not a readable PDF (damaged or truncated): {exc}") from exc


def _read_pdf(path: Path, options: ExtractOptions) -> Read:
    document = open_pdf(path)
    try:
        count = len(document)
        if count == 0:
            raise BadInput("PDF has no pages")
        if count > options.max_pages:
            raise BadInput(f"PDF has {count} pages, more than the limit of {options.max_pages}")
        pages = [_pdf_page(document, i, options) for i in range(count)]
        thumbnail = _png(_render(document[0], _THUMBNAIL_PX))
        properties = _pdf_properties(document)
    finally:
        document.close()
    return Read("PDF", pages, thumbnail=thumbnail,
                extra={"properties": properties} if properties else {})


def _pdf_properties(document: pdfium.PdfDocument) -> dict[str, str]:
    """The document information dictionary: title, author, dates (ISO 8601)... as set."""
    try:
        found = document.get_metadata_dict(skip_empty=True)
    except pdfium.PdfiumError:
        return {}
    properties = {}
    for key, name in _PDF_PROPERTIES.items():
        value = " ".join(str(found.get(key, "")).split())
        if name in ("created", "modified"):
            value = pdf_date(value) or ""
        if value.lower() not in _PDF_UNSET:
            properties[name] = value
    return properties


def pdf_date(value: str) -> str | None:
    """A PDF date (``D:20240131093000+01'00'``) in ISO 8601, or None when it is not one."""
    found = _PDF_DATE.match(value.strip())
    if not found:
        return None
    year, month, day, hour, minute, second, sign, off_h, off_m = found.groups()
    zone = UTC
    if sign in ("+", "-") and off_h:
        offset = timedelta(hours=int(off_h), minutes=int(off_m or 0))
        zone = timezone(offset if sign == "+" else -offset)
    try:
        moment = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0),
                          int(minute or 0), int(second or 0), tzinfo=zone)
    except ValueError:
        return None
    return moment.isoformat()


def _pdf_page(document: pdfium.PdfDocument, index: int, options: ExtractOptions) -> Page:
    try:
        page = document[index]
        layer = page.get_textpage().get_text_bounded().replace("\r\n", "\n").replace("\r", "\n")
        scanned_layer = over_image(page)
    except pdfium.PdfiumError as exc:
        raise BadInput(f"PDF page {index + 1} cannot be read: {exc}") from exc
    if _meaningful(layer):
        if not scanned_layer:
            return Page(layer.strip(), "text layer", why={"why": "text drawn as text"})
        if not too_suspect(layer):  # plausible words may still be misread: a sample is re-read
            return check_layer(page, layer.strip(), lambda: _render(page, None), options)
        return _better_reading(layer.strip(), _ocr_page(_render(page, None), options))
    # No usable text layer (a scan, or text drawn as outlines): read the rendered page.
    scanned = _ocr_page(_render(page, None), options)
    if not scanned.text and layer.strip():
        return Page(layer.strip(), "text layer", why={"why": "no text in the page image"})
    return Page(scanned.text, scanned.source, scanned.ocr, why={"why": "no usable text layer"})


def _better_reading(layer: str, scanned: Page) -> Page:
    """A doubtful OCR layer against tesseract's reading of the same page: keep the better."""
    ours, theirs = suspect_share(scanned.text), suspect_share(layer)
    facts = {"layer_suspect": round(theirs, 3), "ocr_suspect": round(ours, 3),
             "agreement": agreement(layer, scanned.text)}
    confident = scanned.ocr is not None and scanned.ocr.mean_confidence >= _TRUSTED_OCR
    if scanned.text and confident and ours < theirs:
        return Page(scanned.text, "ocr", scanned.ocr, why={
            "why": "OCR text layer reads worse than the page image: re-OCRed", **facts})
    return Page(layer, "text layer", why={
        "why": "OCR text layer looks misread, but the page image reads no better", **facts})


def _meaningful(layer: str) -> bool:
    """Whether a text layer carries real text rather than nothing, a page number or junk."""
    letters = sum(ch.isalnum() for ch in layer)
    # Broken font encodings extract as control characters or private-use glyphs.
    junk = sum(1 for ch in layer if (not ch.isprintable() and not ch.isspace())
               or "\ue000" <= ch <= "\uf8ff")
    return letters >= _MIN_LAYER_CHARS and junk <= 0.05 * len(layer)


def _render(page: pdfium.PdfPage, max_side: int | None) -> Image.Image:
    width, height = page.get_size()  # PDF points, 72 per inch
    if max_side:
        scale = max_side / max(width, height, 1.0)
    else:
        scale = min(_RENDER_DPI / 72.0, (_MAX_RENDER_PIXELS / max(width * height, 1.0)) ** 0.5)
    try:
        image: Image.Image = page.render(scale=scale, grayscale=max_side is None).to_pil()
    except pdfium.PdfiumError as exc:
        raise BadInput(f"PDF page cannot be rendered: {exc}") from exc
    if max_side is None:
        image.info["dpi"] = (round(72 * scale), round(72 * scale))
    return image


def _read_images(path: Path, kind: str, options: ExtractOptions) -> Read:
    pages: list[Page] = []
    thumbnail: bytes | None = None
    for frame in _frames(path, options):
        if thumbnail is None:
            thumbnail = _png(frame)
        pages.append(_ocr_page(frame, options))
    return Read(kind, pages, thumbnail=thumbnail)


def _frames(path: Path, options: ExtractOptions) -> Iterator[Image.Image]:
    """Decoded frames (pages) of an image file, checked against the size limits."""
    from fileproc_dagster.describe.images.describe import register_heif

    register_heif()  # a page photographed with a phone may be a HEIC picture
    try:
        with Image.open(path) as image:
            count = getattr(image, "n_frames", 1)
            if count > options.max_pages:
                raise BadInput(f"image has {count} pages, more than the limit of "
                               f"{options.max_pages}")
            for index in range(count):
                image.seek(index)
                width, height = image.size
                if width * height > options.max_image_pixels:
                    raise BadInput(f"image of {width} x {height} pixels is over the limit of "
                                   f"{options.max_image_pixels} pixels (decompression bomb?)")
                yield image.copy()  # decodes now, so a truncated file fails here
    except Image.DecompressionBombError as exc:
        raise BadInput(f"image is too large to decode safely: {exc}") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError)):
            raise
        raise BadInput(f"not a readable image (damaged or truncated): {exc}") from exc
