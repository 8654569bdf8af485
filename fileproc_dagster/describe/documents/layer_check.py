"""Whether a scan's OCR text layer says what the page shows: a sample of its lines re-read.

Another engine's layer can be wrong with words of a plausible shape (``Eichmond`` for
Richmond, ``tbe``, ``Eondon``), which the word-shape check of ``text_layer.py`` lets through.
So the lines of the layer with the most words missing from a word list of the page's language
(pyspellchecker's frequency lists, shipped in the package) are cut out of the page image,
levelled along the layer's own baselines, and read again by tesseract, all in one run. The
two readings are aligned word by word: where they differ, a word unknown in the layer and
known in the fresh reading is fixed, the reverse broken; words only one of them has count for
neither. When the sample's fresh reading fixes more than twice the words it breaks, the whole
page is read again, and that reading replaces the layer if it passes the same test over the
page (with tesseract's usual confidence). A layer whose words are all in the word list costs
no OCR; one that reads as well as the image keeps its words (no churn).

Example::

    from fileproc_dagster.describe.documents.layer_check import dictionary_share

    dictionary_share("Eichmond is near tbe river", "en")  # (3, 5): 3 of 5 words known
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from fileproc_dagster.describe.documents.reading import Page
from fileproc_dagster.describe.documents.text_layer import agreement, suspect_share, words
from fileproc_dagster.describe.model import ExtractOptions
from fileproc_dagster.describe.ocr.languages import (
    AUTO,
    FIRST_READ,
    MIN_PROBABILITY,
    identify,
    model_for,
    read_page,
)
from fileproc_dagster.describe.ocr.tesseract import ocr_image
from fileproc_dagster.describe.ocr.word_lists import LANGUAGES, word_list

KEPT = "OCR text layer over the page image reads plausibly"
REPLACED = "OCR text layer has words the page image reads as dictionary words: re-OCRed"
SAMPLE_LINES = 6  # lines re-read per page: those with the most words unknown to the word list
# A fresh reading is clearly better when it fixes more than this many times the words it
# breaks (at least one): 1 fixed and 0 broken, 3 and 1, 5 and 2, never 2 and 1.
_BREAKS_PER_FIX = 2
_TRUSTED_OCR = 70.0  # mean word confidence a whole-page reading needs to replace a layer
_PAD = 0.3  # of a line's height, above and below, when its band is cut from the image
_MAX_SLOPE = 0.27  # a line's skew beyond 15 degrees is not followed
_TEXT_PX = 40  # height of a line's characters (ascender to descender) in the sample's pixels
_RENDER_DPI = 300  # the sample is never rendered finer than a page is for OCR (describe.py)
_MAX_PIXELS = 40_000_000


@dataclass(frozen=True)
class _Line:
    text: str
    boxes: np.ndarray  # its printed characters' (left, bottom, right, top), PDF points


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
    found = word_list(iso)
    if word in found:
        return True
    stem = word.removesuffix("'s")
    return stem != word and stem in found


def _unknown(text: str, iso: str) -> int:
    known, total = dictionary_share(text, iso)
    return total - known


def fixes_and_breaks(layer: str, fresh: str, iso: str) -> tuple[int, int]:
    """Words the fresh reading turns into dictionary words where the layer differs, and the
    other way round. Words only one reading has are not counted: a reading that drops an
    unknown word has not fixed it."""
    ours, theirs = words(layer), words(fresh)
    matcher = difflib.SequenceMatcher(None, [w.casefold() for w in ours],
                                      [w.casefold() for w in theirs], autojunk=False)
    fixes = breaks = 0
    for tag, start, end, fresh_start, fresh_end in matcher.get_opcodes():
        if tag == "replace":
            change = (_unknown(" ".join(ours[start:end]), iso)
                      - _unknown(" ".join(theirs[fresh_start:fresh_end]), iso))
            fixes, breaks = fixes + max(change, 0), breaks + max(-change, 0)
    return fixes, breaks


def _clearly_better(fresh: str, layer: str, iso: str) -> tuple[bool, dict[str, Any]]:
    """Whether a fresh reading fixes words and breaks less than half as many (see the doc)."""
    fixes, breaks = fixes_and_breaks(layer, fresh, iso)
    shares = []
    for text in (layer, fresh):
        known, total = dictionary_share(text, iso)
        shares.append(round(known / total, 3) if total else 0.0)
    facts = {"fixed_words": fixes, "broken_words": breaks, "layer_known": shares[0],
             "ocr_known": shares[1], "agreement": agreement(layer, fresh)}
    return fixes > _BREAKS_PER_FIX * breaks, facts


def check_layer(page: pdfium.PdfPage, layer: str, render: Callable[[], Image.Image],
                options: ExtractOptions) -> Page:
    """A scan's plausible-looking OCR layer, kept, or replaced by a reading of the page image."""
    guess = identify(layer)
    if guess is None or guess[1] < MIN_PROBABILITY:
        return _kept(layer, {"layer_check": "language unclear"})
    iso = guess[0]
    if iso not in LANGUAGES:
        return _kept(layer, {"layer_check": f"no word list for {iso}"})
    unknown = [(count, n, line) for n, line in enumerate(_lines(page))
               if (count := _unknown(line.text, iso))]
    worst = [line for _, _, line in sorted(unknown, key=lambda t: (-t[0], t[1]))[:SAMPLE_LINES]]
    if not worst:
        return _kept(layer, {"layer_check": "every word known", "word_list": iso})
    started = time.monotonic()
    facts: dict[str, Any] = {"word_list": iso}
    strips = None if page.get_rotation() else _strips(_sample_image(page, worst), page, worst)
    if strips is not None:  # the sample first: the whole page only when the sample reads better
        language = options.ocr_language if options.ocr_language != AUTO else (
            model_for(iso) or FIRST_READ)
        fresh = ocr_image(strips, language=language, timeout_s=options.ocr_timeout_s,
                          clean=False)
        better, sample = _clearly_better(fresh.text, "\n".join(line.text for line in worst), iso)
        facts.update({"lines_checked": len(worst), **{f"sample_{k}": v for k, v in sample.items()}})
        if not better:
            return _kept(layer, {"layer_check": "sample read again, no better", **facts,
                                 "check_seconds": round(time.monotonic() - started, 2)})
    whole = read_page(render(), language=options.ocr_language, timeout_s=options.ocr_timeout_s)
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
    """The layer's lines in its own order, each with the boxes of its printed characters.

    A line ends where PDFium says (``\\r\\n``) and where the next character sits a line lower:
    some engines' layers run a whole paragraph as one line of text.
    """
    textpage = page.get_textpage()
    lines: list[_Line] = []
    chars: list[str] = []
    boxes: list[tuple[float, float, float, float]] = []
    count = textpage.count_chars()
    for index in range(count + 1):
        code = pdfium_c.FPDFText_GetUnicode(textpage.raw, index) if index < count else 10
        box = textpage.get_charbox(index) if index < count and not chr(code).isspace() else None
        if code in (10, 13) or (box and boxes and _lower(boxes[-1], box)):
            if boxes:
                lines.append(_Line("".join(chars).strip(), np.array(boxes)))
            chars, boxes = [], []
        if code not in (10, 13):
            chars.append(chr(code))
            boxes += [box] if box else []
    return lines


def _lower(before: tuple[float, ...], after: tuple[float, ...]) -> bool:
    """Whether a character's box sits on a line above or below the one before it."""
    high = max(before[3] - before[1], after[3] - after[1])
    return abs((before[1] + before[3]) - (after[1] + after[3])) / 2 > 0.6 * high


def _sample_image(page: pdfium.PdfPage, lines: list[_Line]) -> Image.Image:
    """The page in grey, its text about _TEXT_PX high: never above 300 dpi, below for large type
    (or a layer drawn in pixels rather than points, as from a picture without a resolution)."""
    heights = np.concatenate([line.boxes[:, 3] - line.boxes[:, 1] for line in lines])
    width, height = page.get_size()
    scale = min(_RENDER_DPI / 72, _TEXT_PX / max(float(np.percentile(heights, 90)), 1.0),
                (_MAX_PIXELS / max(width * height, 1.0)) ** 0.5)
    image: Image.Image = page.render(scale=scale, grayscale=True).to_pil()
    image.info["dpi"] = (round(72 * scale), round(72 * scale))
    return image


def _strips(image: Image.Image, page: pdfium.PdfPage, lines: list[_Line]) -> Image.Image | None:
    """The lines' bands of the page image, levelled and stacked with white between.

    Each band runs the page's whole width along its line (a skewed scan's layer is skewed with
    it), so a layer set in a narrower font than the print still covers all of the line.
    """
    left, _, _, top = page.get_cropbox()
    scale = image.width / max(page.get_width(), 1.0)
    grey = np.asarray(image.convert("L"))
    pieces: list[np.ndarray] = []
    for line in lines:
        x = (line.boxes[:, [0, 2]].mean(axis=1) - left) * scale
        y = (top - line.boxes[:, [1, 3]].mean(axis=1)) * scale
        high = float(np.percentile((line.boxes[:, 3] - line.boxes[:, 1]) * scale, 90))
        if high < 4:
            continue
        slope, level = (np.polyfit(x, y, 1) if np.ptp(x) > 2 * high
                        else (0.0, float(np.median(y))))
        angle = float(np.arctan(np.clip(slope, -_MAX_SLOPE, _MAX_SLOPE)))
        cos, sin, half = np.cos(angle), np.sin(angle), (0.5 + _PAD) * high
        # Band pixel (u, v) comes from the page at origin + u * along + v * across.
        origin = (half * sin, level - half * cos)
        matrix = np.array([[cos, -sin, origin[0]], [sin, cos, origin[1]]], dtype=np.float64)
        size = (int(grey.shape[1] / cos), int(2 * half))
        band = cv2.warpAffine(grey, matrix, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=255)
        pieces += [band, np.full((size[1], size[0]), 255, dtype=np.uint8)]
    if not pieces:
        return None
    width = max(piece.shape[1] for piece in pieces)
    stacked = Image.fromarray(np.vstack(
        [np.pad(piece, ((0, 0), (0, width - piece.shape[1])), constant_values=255)
         for piece in [pieces[1], *pieces]]))
    stacked.info["dpi"] = image.info["dpi"]
    return stacked
