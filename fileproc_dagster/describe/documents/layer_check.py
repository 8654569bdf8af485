"""Whether a scan's OCR text layer says what the page shows: a sample of its lines re-read.

Another engine's layer can be wrong with words of a plausible shape (``Eichmond`` for
Richmond, ``tbe``, ``Eondon``), which the word-shape check of ``text_layer.py`` lets through.
So the lines of the layer with the most words missing from a word list of the page's language
(pyspellchecker's frequency lists, shipped in the package) are cut out of the page image and
read again by tesseract, all in one run. When the fresh reading of those lines has clearly
more dictionary words, the whole page is read again and its reading replaces the layer if it
too is clearly better over the whole page. A layer whose words are all in the word list costs
no OCR at all, and one that reads as well as the image keeps its words (no churn).

Example::

    from fileproc_dagster.describe.documents.layer_check import dictionary_share

    dictionary_share("Eichmond is near tbe river", "en")  # (3, 5): 3 of 5 words known
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pypdfium2 as pdfium
from PIL import Image

from fileproc_dagster.describe.documents.reading import Page
from fileproc_dagster.describe.documents.text_layer import agreement, suspect_share, words
from fileproc_dagster.describe.model import ExtractOptions
from fileproc_dagster.describe.ocr.languages import (
    FIRST_READ,
    MIN_PROBABILITY,
    identify,
    model_for,
    read_page,
)
from fileproc_dagster.describe.ocr.tesseract import ocr_image

KEPT = "OCR text layer over the page image reads plausibly"
REPLACED = "OCR text layer has words the page image reads as dictionary words: re-OCRed"
# pyspellchecker's word lists (ISO 639-1 codes), loaded only for a page that needs one.
WORD_LISTS = frozenset({"en", "es", "fr", "de", "it", "pt", "nl", "ru", "ar", "eu", "fa", "lv"})
SAMPLE_LINES = 6  # lines re-read per page: those with the most words unknown to the word list
_MIN_FIXED = 2  # fewer unknown words than the layer's by at least this many ...
_MIN_GAIN = 0.02  # ... and a dictionary share higher by this much: clearly better
_TRUSTED_OCR = 70.0  # mean word confidence a whole-page reading needs to replace a layer
_PAD = 0.25  # of a line's height, above and below, when its strip is cut from the image


@dataclass(frozen=True)
class _Line:
    bottom: float  # PDF points, from the page's bottom edge
    top: float
    text: str


@functools.cache
def _word_list(iso: str) -> Any:
    from spellchecker import SpellChecker  # its word list loads in ~0.3 s: only when needed

    return SpellChecker(language=iso, distance=1)


def _scored(word: str) -> list[str]:
    """The parts of a word a word list can judge (numbers, codes and initials are not)."""
    word = word.casefold().replace("’", "'")
    if any(ch.isdigit() for ch in word):
        return []
    parts = [word] if "'" in word else word.replace(".", "-").split("-")
    return [p for p in parts if sum(ch.isalpha() for ch in p) >= 2]


def dictionary_share(text: str, iso: str) -> tuple[int, int]:
    """How many of ``text``'s words the word list of ``iso`` knows, of how many it judges."""
    known = total = 0
    for word in words(text):
        for part in _scored(word):
            total += 1
            known += _known(part, iso)
    return known, total


def _known(word: str, iso: str) -> bool:
    found = _word_list(iso)
    if word in found:
        return True
    stem = word.removesuffix("'s")
    return stem != word and stem in found


def _unknown(text: str, iso: str) -> int:
    known, total = dictionary_share(text, iso)
    return total - known


def _clearly_better(fresh: str, layer: str, iso: str) -> tuple[bool, dict[str, Any]]:
    fresh_known, fresh_total = dictionary_share(fresh, iso)
    layer_known, layer_total = dictionary_share(layer, iso)
    fresh_share = fresh_known / fresh_total if fresh_total else 0.0
    layer_share = layer_known / layer_total if layer_total else 0.0
    fixed = (layer_total - layer_known) - (fresh_total - fresh_known)
    facts = {"layer_known": round(layer_share, 3), "ocr_known": round(fresh_share, 3),
             "agreement": agreement(layer, fresh)}
    return fixed >= _MIN_FIXED and fresh_share >= layer_share + _MIN_GAIN, facts


def check_layer(page: pdfium.PdfPage, layer: str, render: Callable[[], Image.Image],
                options: ExtractOptions) -> Page:
    """A scan's plausible-looking OCR layer, kept, or replaced by a reading of the page image."""
    guess = identify(layer)
    if guess is None or guess[1] < MIN_PROBABILITY:
        return _kept(layer, {"layer_check": "language unclear"})
    iso = guess[0]
    if iso not in WORD_LISTS:
        return _kept(layer, {"layer_check": f"no word list for {iso}"})
    worst = sorted((line for line in _lines(page) if _unknown(line.text, iso)),
                   key=lambda line: -_unknown(line.text, iso))[:SAMPLE_LINES]
    if not worst:
        return _kept(layer, {"layer_check": "every word known", "word_list": iso})
    started = time.monotonic()
    image = render()
    facts: dict[str, Any] = {"word_list": iso}
    strips = None if page.get_rotation() else _strips(image, page, worst)
    if strips is not None:  # the sample first: the whole page only when the sample reads better
        fresh = ocr_image(strips, language=model_for(iso) or FIRST_READ,
                          timeout_s=options.ocr_timeout_s, clean=False)
        better, sample = _clearly_better(fresh.text, "\n".join(line.text for line in worst), iso)
        facts.update({"lines_checked": len(worst), **{f"sample_{k}": v for k, v in sample.items()}})
        if not better:
            return _kept(layer, {"layer_check": "sample read again, no better", **facts,
                                 "check_seconds": round(time.monotonic() - started, 2)})
    whole = read_page(image, language=options.ocr_language, timeout_s=options.ocr_timeout_s)
    better, found = _clearly_better(whole.text, layer, iso)
    facts.update({**found, "ocr_confidence": whole.mean_confidence,
                  "check_seconds": round(time.monotonic() - started, 2)})
    if better and whole.mean_confidence >= _TRUSTED_OCR:
        return Page(whole.text, "ocr", whole, why={"why": REPLACED, **facts})
    return _kept(layer, {"layer_check": "page read again, no better", **facts})


def _kept(layer: str, facts: dict[str, Any]) -> Page:
    return Page(layer, "text layer", why={
        "why": KEPT, "layer_suspect": round(suspect_share(layer), 3), **facts})


def _lines(page: pdfium.PdfPage) -> list[_Line]:
    """The layer's lines, each a band of the page as high as its text runs (top to bottom)."""
    textpage = page.get_textpage()
    bands: list[list[float]] = []  # [bottom, top]
    for index in range(textpage.count_rects()):
        _, bottom, _, top = textpage.get_rect(index)
        for band in bands:
            overlap = min(top, band[1]) - max(bottom, band[0])
            if overlap > 0.5 * min(top - bottom, band[1] - band[0]):
                band[0], band[1] = min(band[0], bottom), max(band[1], top)
                break
        else:
            bands.append([bottom, top])
    left, _, right, _ = page.get_cropbox()
    lines = [_Line(b, t, textpage.get_text_bounded(left, b, right, t)) for b, t in bands]
    return sorted((line for line in lines if line.text.strip()), key=lambda line: -line.top)


def _strips(image: Image.Image, page: pdfium.PdfPage, lines: list[_Line]) -> Image.Image | None:
    """The lines' strips of the page image, the page's full width, stacked with white between."""
    _, bottom, _, top = page.get_cropbox()
    scale = image.height / max(top - bottom, 1.0)
    grey = np.asarray(image.convert("L"))
    pieces: list[np.ndarray] = []
    for line in lines:
        pad = _PAD * (line.top - line.bottom)
        upper = max(int((top - line.top - pad) * scale), 0)
        lower = min(int((top - line.bottom + pad) * scale) + 1, grey.shape[0])
        if lower - upper < 4:
            continue
        pieces += [grey[upper:lower], np.full(((lower - upper) // 2, grey.shape[1]), 255,
                                              dtype=np.uint8)]
    if not pieces:
        return None
    stacked = Image.fromarray(np.vstack([np.full_like(pieces[1], 255), *pieces]))
    stacked.info["dpi"] = image.info.get("dpi", (300, 300))
    return stacked
