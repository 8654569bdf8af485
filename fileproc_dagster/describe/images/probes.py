"""The content check behind detecting a picture: a page of text or a photo?"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from fileproc_dagster.describe.images.describe import (
    SAFE_FORMATS,
    decode_frame,
    is_animated,
    open_image,
)
from fileproc_dagster.describe.images.page_call import PAGE_MIN_WORDS, call_page, settled
from fileproc_dagster.describe.model import Detection, ExtractOptions, FileKind
from fileproc_dagster.describe.ocr.cleanup import clean_scan, text_height
from fileproc_dagster.describe.ocr.evidence import Evidence, gather
from fileproc_dagster.describe.ocr.languages import first_read_language
from fileproc_dagster.describe.ocr.tesseract import estimate_skew, rotate, word_rows
from fileproc_dagster.errors import BadInput

log = logging.getLogger(__name__)

# A multi-page TIFF whose first pages each carry a few words is a stack of scanned pages
# (short ones: a title page, a form), read page by page as a document.
STACK_PAGE_WORDS = 2  # a title page in large type gives the quick reading 2-3 sure words
STACK_PAGES_CHECKED = 3
_DECODE_SIDE = 1600  # px the picture is decoded at for the check: 6 pt print on A4 still legible
# The check reads the picture scaled so its letters are about _CHECK_LETTER px high: enough for
# tesseract to be sure of words, small enough to be cheap. A 300 dpi scan of 11 pt print is
# reduced ~3x; a capture a few hundred px wide is enlarged up to _CHECK_MAX_ENLARGE times.
_CHECK_LETTER = 8.0
# A 1-bit picture loses its strokes when reduced (grey mush between black and white): it is
# decoded larger and read with larger letters, and every band is read before calling it a
# photo (a fax is a page unless nothing readable is on it).
_BILEVEL_DECODE_SIDE = 3200
_BILEVEL_CHECK_LETTER = 14.0
_CHECK_MAX_ENLARGE = 4.0
_CHECK_SIDE = 1000  # px: the long side the check reduces a picture to at most
_CHECK_MAX_PIXELS = 3_000_000
_MEASURE_SIDE = 1200  # px the letters are measured at: 7 pt print on A4 is 5 px there
# The check reads a band of the picture at a time (about _BAND_PIXELS, eight lines or so of
# print), the inkiest first, and stops once the call is settled; a photo costs at most
# _MAX_BANDS readings.
_BAND_PIXELS = 160_000
_MIN_BAND_HEIGHT = 120
_MAX_BANDS = 4
_BLANK_BANDS = 2  # the inkiest bands that read nothing at all: a photo, no further bands
_SKEW_SIDE = 600
_TINY_SIDE = 100  # px: icons and thumbnails; lines of a page need more, even at 4 px letters
_DARK_MEAN = 50  # mean grey level below which a picture is night sky, not paper
_MAX_TRANSPARENT = 0.05
Image.init()
_PILLOW_MIMES = {Image.MIME[f] for f in SAFE_FORMATS if f in Image.MIME} | {
    "image/x-ms-bmp", "image/x-portable-bitmap", "image/x-portable-greymap",
    "image/x-portable-pixmap"}


def probe_picture(path: Path, mime: str, options: ExtractOptions) -> Detection:
    """A picture that decodes: a page of text (document) or anything else (image), called
    from what a quick reading finds on it (``page_call.py``)."""
    try:
        with open_image(path, options.max_image_pixels) as image:
            fmt = str(image.format)
            bilevel = is_bilevel(image)
            frame = decode_frame(image, max_side=_BILEVEL_DECODE_SIDE if bilevel else
                                 _DECODE_SIDE)
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
    evidence = page_evidence(frame, options, bilevel=bilevel)
    call = call_page(evidence)
    seconds = time.monotonic() - started
    log.debug("%s: %s (%.2f s)", path.name, call.why, seconds)
    if call.document:
        return Detection(FileKind.DOCUMENT, mime,
                         f"{fmt} page image, {call.why} ({seconds:.1f} s check)")
    if fmt == "TIFF" and evidence.confident_words >= STACK_PAGE_WORDS:
        counts = [evidence.confident_words, *_next_pages_words(path, options)]
        if len(counts) > 1 and min(counts) >= STACK_PAGE_WORDS:
            return Detection(FileKind.DOCUMENT, mime,
                             f"TIFF of scanned pages, {', '.join(map(str, counts))} confident "
                             f"words on its first {len(counts)} pages")
    return Detection(FileKind.IMAGE, mime, f"{fmt} image, {call.why}")


def is_bilevel(image: Image.Image) -> bool:
    """Whether a picture is black and white, 1 bit per pixel: a fax or a scanner's B/W mode."""
    compression = str(image.info.get("compression", ""))
    return image.mode == "1" or compression.startswith(("group3", "group4"))


def _next_pages_words(path: Path, options: ExtractOptions) -> list[int]:
    """Confident words on pages 2 and 3 of a multi-page TIFF (a scanner's or a fax's stack)."""
    counts = []
    with open_image(path, options.max_image_pixels) as image:
        for index in range(1, min(getattr(image, "n_frames", 1), STACK_PAGES_CHECKED)):
            image.seek(index)
            if image.width * image.height > options.max_image_pixels:
                break
            bilevel = is_bilevel(image)
            frame = decode_frame(image, max_side=_BILEVEL_DECODE_SIDE if bilevel else
                                 _DECODE_SIDE)
            counts.append(page_evidence(frame, options, bilevel=bilevel).confident_words)
    return counts


def page_evidence(frame: Image.Image, options: ExtractOptions, *,
                  bilevel: bool = False) -> Evidence:
    """What a quick reading finds on a picture, band by band, until the call is settled.

    The picture is scaled from its measured letter size (``cleanup.text_height``) so the text
    is legible to tesseract, then cleaned up as a page would be (lighting evened out): a phone
    capture of a page, small and dark on one side, is judged by what OCR can read on it. A
    page turned a little is straightened when the first band reads poorly.
    """
    grey: np.ndarray = np.asarray(_on_white(frame), dtype=np.uint8)
    letters = text_height(grey, max_side=_MEASURE_SIDE)
    scale = _check_scale(grey.shape, letters,
                         _BILEVEL_CHECK_LETTER if bilevel else _CHECK_LETTER)
    if scale != 1.0:
        size = (max(round(grey.shape[1] * scale), 1), max(round(grey.shape[0] * scale), 1))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA if scale < 1 else
                          cv2.INTER_CUBIC)
    grey = clean_scan(grey)
    language = first_read_language(options.ocr_language)
    deadline = time.monotonic() + options.ocr_timeout_s

    def read(page: np.ndarray, band: tuple[int, int]) -> Evidence:
        rows = word_rows(page[band[0]:band[1]], language, max(deadline - time.monotonic(), 1.0))
        return gather(rows, area=(band[1] - band[0]) * page.shape[1])

    bands = _inkiest_bands(grey)
    first = read(grey, bands[0])
    if first.confident_words < PAGE_MIN_WORDS // 2 and (skew := _skew(grey)):
        grey = rotate(grey, skew)  # a page photographed at an angle: read it straightened
        bands = _inkiest_bands(grey)
        first = read(grey, bands[0])
    found = Evidence(0, 0, 0, 0, bilevel, letters, scale) + first
    for number, band in enumerate(bands[1:], start=2):
        blank = number > _BLANK_BANDS and not found.confident_words and not bilevel
        if settled(found) or blank:
            break
        found = found + read(grey, band)
    return found


def _skew(grey: np.ndarray) -> float:
    """The page's skew, measured on a small copy: the check needs the angle to a degree."""
    factor = _SKEW_SIDE / max(grey.shape)
    if factor >= 1:
        return estimate_skew(grey)
    size = (max(round(grey.shape[1] * factor), 1), max(round(grey.shape[0] * factor), 1))
    return estimate_skew(cv2.resize(grey, size, interpolation=cv2.INTER_AREA))


def _check_scale(shape: tuple[int, ...], letters: float | None, target: float) -> float:
    """How much to scale a picture for the check: letters to ``target`` px, in budget.

    Never below _CHECK_SIDE px on the long side: the measure is of the picture's blobs, and
    a photographed receipt on a wooden table has grain as big as its letters."""
    h, w = shape[:2]
    scale = min(_CHECK_SIDE / max(h, w), 1.0)
    if letters is not None:
        scale = max(scale, min(target / letters, _CHECK_MAX_ENLARGE))
    scale = min(scale, (_CHECK_MAX_PIXELS / max(h * w, 1)) ** 0.5)
    return 1.0 if 0.9 <= scale <= 1.1 else scale


def _inkiest_bands(grey: np.ndarray) -> list[tuple[int, int]]:
    """Bands of the page (top, bottom), the most ink first, at most _MAX_BANDS of them."""
    height, width = grey.shape
    bands = max(1, round(height / max(_BAND_PIXELS // max(width, 1), _MIN_BAND_HEIGHT)))
    step = -(-height // bands)
    overlap = 20  # px: a text line cut by a band edge is read whole in one of the two bands
    spans = [(max(0, top - overlap), min(height, top + step)) for top in range(0, height, step)]
    _, ink = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    rows = ink.mean(axis=1)
    # Rows with some ink but not solid: text lines, not an empty margin or a black border.
    texty = (rows > 0.01) & (rows < 0.5)
    spans.sort(key=lambda span: -int(texty[span[0]:span[1]].sum()))
    return spans[:_MAX_BANDS]


def _not_a_page(image: Image.Image, frame: Image.Image) -> str:
    """Why OCR is not worth trying on this picture ("" when it might be a page)."""
    if is_animated(image):
        return "animated"
    if min(image.size) < _TINY_SIDE:
        return f"{image.width}x{image.height}, too small for lines of text"
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
