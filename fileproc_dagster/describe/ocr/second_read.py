"""A second opinion on a page tesseract reads poorly: the page read other ways, the best
reading kept.

The first reading cleans a page the way scans and phone photos need (paper shading divided
out, grain removed, small text enlarged by line pitch, straightened). A page whose mean word
confidence is under SECOND_OPINION_BELOW (clean scans read 91-96, so they never pay for it)
is read again:

- as it is, the way plain ``tesseract FILE -`` reads it (tesseract's own binarisation is
  sometimes the better one: a receipt photographed on a dark table reads 0.86 so, 0.68
  with the table's texture stretched by the clean-up); skipped when the clean-up left the
  page as it was;
- with its letters enlarged to tesseract's comfortable size (measured x-height to ~LETTER px)
  before the same clean-up, when they are smaller: sharp small print whose lines are far
  apart (a 9 pt page at 120 dpi under window shadows reads 1.00 so, 0.79 without).

The reading kept has the most words read both confidently (tesseract's confidence of 70 or
more) and known to a spelling word list of the page's language; the facts of every reading
go to the page's details. (Contrast normalisation and adaptive thresholds,
other OCR front ends' default, were tried and read every test page worse.)

Example::

    from PIL import Image
    from fileproc_dagster.describe.ocr.languages import read_page

    result = read_page(Image.open("capture.png"))  # second_read runs inside when needed
    print(result.second_opinion)  # None, or {"kept": "as it is", "first": {...}, ...}
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from typing import Any

import cv2
import numpy as np
from PIL import Image

from fileproc_dagster.describe.ocr.cleanup import clean_scan, text_height
from fileproc_dagster.describe.ocr.tesseract import OcrResult, ocr_image
from fileproc_dagster.describe.ocr.word_lists import LANGUAGES, word_list

log = logging.getLogger(__name__)

SECOND_OPINION_BELOW = 88.0  # mean word confidence; clean scans read 91-96
LETTER = 16.0  # px of x-height: tesseract reads 16-30 px letters best
_MAX_ENLARGE = 3.0
_MAX_PIXELS = 12_000_000  # a second reading costs at most a few times the first
_MARGIN = 0.01  # share by which a second reading must score better to replace the first
_WORD = re.compile(r"[^\W\d_]{2,}")


def second_opinion(image: Image.Image, first: OcrResult, *, timeout_s: float) -> OcrResult:
    """``first``, or a second reading of ``image`` when one is clearly better; either way
    with the facts of the comparison in ``second_opinion`` when second readings were made."""
    if not first.words or first.mean_confidence >= SECOND_OPINION_BELOW or timeout_s <= 1:
        return first
    started = time.monotonic()
    deadline = started + timeout_s
    iso = first.detected or "en"
    grey = np.asarray(image.convert("L"), dtype=np.uint8)
    readings: dict[str, OcrResult] = {}
    if not np.array_equal(clean_scan(grey), grey):  # else the first reading saw it as it is
        # The page as it is, the way plain tesseract reads it: no clean-up, no straightening.
        readings["as it is"] = ocr_image(image, language=first.language, timeout_s=timeout_s,
                                         clean=False)
    page, scale = alternative_cleanup(grey, first)
    if scale > 1.0 and deadline - time.monotonic() > 1:
        readings[f"letters enlarged to {LETTER:.0f} px ({scale:.2g}x)"] = ocr_image(
            Image.fromarray(page), language=first.language,
            timeout_s=deadline - time.monotonic())
    if not readings:
        return first
    way, best = max(readings.items(), key=lambda item: _score(item[1], iso))
    keep = (best.words >= 0.5 * first.words
            and _score(best, iso) > _score(first, iso) * (1 + _MARGIN))
    facts: dict[str, Any] = {
        "why": f"mean confidence {first.mean_confidence:.1f} < {SECOND_OPINION_BELOW:g}",
        "first": _facts(first, iso),
        **{way: _facts(reading, iso) for way, reading in readings.items()},
        "kept": way if keep else "first",
        "seconds": round(time.monotonic() - started, 2),
    }
    log.debug("second opinion: %s", facts)
    chosen = first
    if keep:
        chosen = replace(best, rotated_deg=first.rotated_deg if way != "as it is" else 0,
                         language=first.language, language_source=first.language_source,
                         detected=first.detected,
                         detected_probability=first.detected_probability, script=first.script)
    return replace(chosen, seconds=first.seconds + facts["seconds"], second_opinion=facts)


def _facts(reading: OcrResult, iso: str) -> dict[str, float]:
    return {"confidence": reading.mean_confidence, "words": reading.words,
            "dictionary_rate": round(known_share(reading.text, iso), 3)}


def alternative_cleanup(grey: np.ndarray, first: OcrResult) -> tuple[np.ndarray, float]:
    """The page turned as the first reading found, its letters enlarged to about LETTER px
    (within _MAX_ENLARGE and _MAX_PIXELS); ``ocr_image`` cleans and straightens it."""
    if first.rotated_deg:
        grey = np.ascontiguousarray(np.rot90(grey, k=-first.rotated_deg // 90))
    letters = text_height(clean_scan(grey))
    h, w = grey.shape
    scale = min(LETTER / letters if letters else _MAX_ENLARGE, _MAX_ENLARGE,
                (_MAX_PIXELS / max(h * w, 1)) ** 0.5)
    if scale <= 1.0:
        return grey, 1.0
    return cv2.resize(grey, (round(w * scale), round(h * scale)),
                      interpolation=cv2.INTER_CUBIC), scale


def known_share(text: str, iso: str) -> float:
    """Share of the words (2+ letters) of ``text`` that the language's word list knows."""
    words = [w.lower() for w in _WORD.findall(text)]
    checker = word_list(iso if iso in LANGUAGES else "en")
    if not words:
        return 0.0
    return len(checker.known(words) & set(words)) / len(set(words))


def _score(result: OcrResult, iso: str) -> float:
    """About how many words a reading got right: its confident words, times the share of its
    words the word list knows."""
    return result.confident_words * known_share(result.text, iso)


