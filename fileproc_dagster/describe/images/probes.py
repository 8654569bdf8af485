"""The content check behind detecting a picture: a page of text or a photo?"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
from PIL import Image

from fileproc_dagster.describe.images.describe import (
    SAFE_FORMATS,
    decode_frame,
    is_animated,
    open_image,
)
from fileproc_dagster.describe.model import Detection, ExtractOptions, FileKind
from fileproc_dagster.describe.ocr.cleanup import prepare_page
from fileproc_dagster.describe.ocr.languages import first_read_language
from fileproc_dagster.describe.ocr.tesseract import ocr_image
from fileproc_dagster.errors import BadInput

log = logging.getLogger(__name__)

PAGE_MIN_WORDS = 20  # confident OCR words that make a picture a page of text
# A multi-page TIFF whose first pages each carry a few words is a stack of scanned pages
# (short ones: a title page, a form), read page by page as a document.
STACK_PAGE_WORDS = 3
STACK_PAGES_CHECKED = 3
PAGE_CHECK_SIDE = 1000  # px: large enough for 10 pt print on A4, small enough to OCR fast
# OCR a third of a page at a time and stop once it is plainly text; smaller pictures
# (photos) need fewer, cheaper calls.
_BAND_HEIGHT = PAGE_CHECK_SIDE // 3
# At check size an A4 page's 11 pt lines are ~17 px apart, enough to tell a page; only
# print closer than this (a small photo of a page) is enlarged for the check, within a budget.
_CHECK_SMALL_PITCH = 13.0
_CHECK_MAX_PIXELS = 3 * PAGE_CHECK_SIDE**2
_MIN_PAGE_SIDE = 300
_DARK_MEAN = 50  # mean grey level below which a picture is night sky, not paper
_MAX_TRANSPARENT = 0.05
Image.init()
_PILLOW_MIMES = {Image.MIME[f] for f in SAFE_FORMATS if f in Image.MIME} | {
    "image/x-ms-bmp", "image/x-portable-bitmap", "image/x-portable-greymap",
    "image/x-portable-pixmap"}


def probe_picture(path: Path, mime: str, options: ExtractOptions) -> Detection:
    """A picture that decodes: a page of text (document) or anything else (image)."""
    try:
        with open_image(path, options.max_image_pixels) as image:
            fmt = str(image.format)
            frame = decode_frame(image, max_side=PAGE_CHECK_SIDE)
            skip = _not_a_page(image, frame)
    except BadInput as exc:
        if exc.verdict != "unsupported":
            raise
        if mime in _PILLOW_MIMES:
            raise BadInput(f"damaged {mime} picture: no readable header") from exc
        raise BadInput(f"{mime} pictures are not supported", verdict="unsupported") from exc
    if skip:
        return Detection(FileKind.IMAGE, mime, f"{fmt} image ({skip}: no page check)")
    started = time.monotonic()
    words = page_words(frame, options)
    seconds = time.monotonic() - started
    log.debug("%s: %d confident words in %.2f s", path.name, words, seconds)
    if words >= PAGE_MIN_WORDS:
        return Detection(FileKind.DOCUMENT, mime,
                         f"{fmt} page image, {words}+ confident words ({seconds:.1f} s check)")
    if fmt == "TIFF" and words >= STACK_PAGE_WORDS:
        counts = [words, *_next_pages_words(path, options)]
        if len(counts) > 1 and min(counts) >= STACK_PAGE_WORDS:
            return Detection(FileKind.DOCUMENT, mime,
                             f"TIFF of scanned pages, {', '.join(map(str, counts))} confident "
                             f"words on its first {len(counts)} pages")
    return Detection(FileKind.IMAGE, mime, f"{fmt} image, {words} confident words: not a page")


def _next_pages_words(path: Path, options: ExtractOptions) -> list[int]:
    """Confident words on pages 2 and 3 of a multi-page TIFF (a scanner's or a fax's stack)."""
    counts = []
    with open_image(path, options.max_image_pixels) as image:
        for index in range(1, min(getattr(image, "n_frames", 1), STACK_PAGES_CHECKED)):
            image.seek(index)
            if image.width * image.height > options.max_image_pixels:
                break
            counts.append(page_words(decode_frame(image, max_side=PAGE_CHECK_SIDE), options))
    return counts


def page_words(frame: Image.Image, options: ExtractOptions) -> int:
    """Confident words of a quick OCR pass, stopping once PAGE_MIN_WORDS are found.

    The picture is cleaned up first as a page would be for reading (lighting evened out,
    small text enlarged): a phone photo of a page, dark on one side, is judged by what OCR
    can read on it, not by what a single threshold leaves of it.
    """
    small = _on_white(frame)
    if max(small.size) > PAGE_CHECK_SIDE:
        small.thumbnail((PAGE_CHECK_SIDE, PAGE_CHECK_SIDE), Image.Resampling.BILINEAR)
    flat, _ = prepare_page(np.asarray(small, dtype=np.uint8), _CHECK_MAX_PIXELS,
                           small_pitch=_CHECK_SMALL_PITCH, target_pitch=_CHECK_SMALL_PITCH)
    grey = Image.fromarray(flat)  # no dpi: the scan's no longer applies to this copy
    deadline = time.monotonic() + options.ocr_timeout_s
    bands = max(1, round(grey.height / _BAND_HEIGHT))
    step = -(-grey.height // bands)
    overlap = 20  # px: a text line cut by a band edge is read whole in one of the two bands
    found = 0
    for top in range(0, grey.height, step):
        band = grey.crop((0, max(0, top - overlap), grey.width, min(grey.height, top + step)))
        result = ocr_image(band, language=first_read_language(options.ocr_language), clean=False,
                           timeout_s=max(deadline - time.monotonic(), 1.0))
        found += result.confident_words
        if found >= PAGE_MIN_WORDS:
            break
    return found


def _not_a_page(image: Image.Image, frame: Image.Image) -> str:
    """Why OCR is not worth trying on this picture ("" when it might be a page)."""
    if is_animated(image):
        return "animated"
    if min(image.size) < _MIN_PAGE_SIDE:
        return f"{image.width}x{image.height}, too small for a page"
    if frame.mode == "RGBA":
        alpha = np.asarray(frame.getchannel("A"))
        if float((alpha < 128).mean()) > _MAX_TRANSPARENT:
            return "transparent areas"
    if float(np.asarray(frame.convert("L")).mean()) < _DARK_MEAN:
        return "very dark"
    return ""


def _on_white(frame: Image.Image) -> Image.Image:
    if frame.mode == "RGBA":
        backdrop = Image.new("RGBA", frame.size, (255, 255, 255, 255))
        return Image.alpha_composite(backdrop, frame).convert("L")
    return frame.convert("L")
