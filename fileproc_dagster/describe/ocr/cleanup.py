"""Page clean-up before OCR: even out the lighting, remove grain, bring small text to size.

A scanner lights a page evenly; a phone does not. A photographed page is dark on one side and
small (a 1000 px photo of an A4 page has text 5 px high), and tesseract binarises the whole page
with one threshold and reads text best at about 300 dpi. So the paper's own brightness is
estimated (everything but the ink) and divided out, and pages whose text lines are packed
closer than tesseract reads well are enlarged until they are not.

Example::

    import numpy as np
    from fileproc_dagster.describe.ocr.cleanup import prepare_page

    # grey: 2-D uint8 array, dark ink on lighter paper
    page, scale = prepare_page(grey, max_pixels=40_000_000)
    # scale: 1.0 for a 300 dpi scan, ~1.4 for a 1000 px photo of a page
"""

from __future__ import annotations

import cv2
import numpy as np

_GRAIN = 4.0  # mean grey change a 3x3 median makes; clean scans ~0.3, a grainy copy ~7
_WHITE_PAPER = 230.0  # background median at or above this counts as white paper...
_EVEN_PAPER = 25.0  # ...when its 5-95 percentile spread is at most this
# Line pitch (px from one text line to the next) tesseract reads best on blurred, photographed
# text; 11 pt print at 300 dpi has ~65 px and needs nothing. Below _SMALL_PITCH a page is
# enlarged to about _TARGET_PITCH: more magnifies the blur, which costs accuracy again.
_SMALL_PITCH = 20.0
_TARGET_PITCH = 26.0
_MAX_TEXT_SCALE = 3.0
_MIN_PITCH = 6  # closer than this the "lines" are texture or noise, not text
# Letters (x-height) far above the ~16-30 px tesseract reads best cost time for nothing: a
# 600 dpi scan of large print is reduced. (Small letters are enlarged by line pitch: enlarging
# blurred photographed letters to their measured comfortable size costs accuracy, 0.93 -> 0.89
# on a 900 px phone photo; second_read.py tries it on pages read poorly.)
_HUGE_LETTER = 48.0
_HUGE_TARGET = 32.0
_MIN_LETTER = 3  # px: smaller blobs are specks (a letter needs 3 px to be one at all)
_MIN_LETTERS = 30  # letter-shaped blobs needed before their median height means anything


def clean_scan(grey: np.ndarray) -> np.ndarray:
    """Even out a scan: invert dark pages, remove grain, divide out uneven paper shading.

    Each step runs only when the page needs it: on a clean scan they cost accuracy on small
    print (a median filter rounds off thin digits), on a faded photocopy or a photographed
    page lit from one side they make the page.
    """
    if float(grey.mean()) < 100:  # light text on a dark page; tesseract wants dark on light
        grey = 255 - grey
    median = cv2.medianBlur(grey, 3)
    if float(cv2.absdiff(grey, median).mean()) > _GRAIN:
        grey = median
    background = paper_background(grey)
    low, mid, high = np.percentile(background, [5, 50, 95])
    if mid >= _WHITE_PAPER and high - low <= _EVEN_PAPER:
        return grey
    flat = cv2.divide(grey, np.maximum(background, 1), scale=255)
    # Stretch faint ink (a faded photocopy's grey on grey) to black, and the paper, which is
    # most of a page, with the grain on it to white.
    ink, paper = (float(v) for v in np.percentile(flat, [0.5, 50]))
    if paper - ink >= 30:
        gain = 255.0 / (paper - ink)
        flat = cv2.convertScaleAbs(flat, alpha=gain, beta=-ink * gain)
    return flat


def paper_background(grey: np.ndarray) -> np.ndarray:
    """The paper without the ink: closing away everything smaller than ~60 px (text strokes)."""
    h, w = grey.shape
    # Quarter size keeps the closing and the big median cheap on a full 300 dpi page.
    small = cv2.resize(grey, (max(w // 4, 1), max(h // 4, 1)), interpolation=cv2.INTER_AREA)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (15, 15))
    background = cv2.medianBlur(cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel), 21)
    return cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR)


def line_pitch(grey: np.ndarray) -> float | None:
    """Distance in px between text lines (the row profile's period); None if there is none."""
    _, ink = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    h, w = ink.shape
    # The middle half of the width: a slightly skewed page still has clean rows there.
    rows = ink[:, w // 4: w - w // 4].sum(axis=1).astype(np.float64)
    if h < 4 * _MIN_PITCH or rows.sum() < 50:
        return None
    rows -= rows.mean()
    spectrum = np.fft.rfft(rows, 2 * h)
    corr = np.fft.irfft(spectrum * np.conj(spectrum))[: h // 4]
    if corr[0] <= 0:
        return None
    corr /= corr[0]
    below = np.flatnonzero(corr < 0)
    if not below.size:
        return None
    start = max(int(below[0]), _MIN_PITCH)
    if start >= len(corr):
        return None
    tail = corr[start:]
    best = float(tail.max())
    # Text lines repeat strongly; a photo's rows do not.
    if best < 0.3:
        return None
    # Two, three lines on repeat almost as strongly as one: take the first strong peak.
    peaks = np.flatnonzero((tail[1:-1] >= tail[:-2]) & (tail[1:-1] >= tail[2:])
                           & (tail[1:-1] >= 0.85 * best)) + 1
    return float(start + (int(peaks[0]) if peaks.size else int(np.argmax(tail))))


def prepare_page(
    grey: np.ndarray, max_pixels: int, *, small_pitch: float = _SMALL_PITCH,
    target_pitch: float = _TARGET_PITCH,
) -> tuple[np.ndarray, float]:
    """``clean_scan``, then text lines closer than ``small_pitch`` px enlarged to about
    ``target_pitch`` (within ``max_pixels``), or letters over _HUGE_LETTER px reduced to
    _HUGE_TARGET: the page and the scale applied."""
    flat = clean_scan(grey)
    h, w = flat.shape
    letters = text_height(flat)
    if letters is not None and letters > _HUGE_LETTER:  # a 600 dpi scan of big print
        scale = _HUGE_TARGET / letters
        size = (max(round(w * scale), 1), max(round(h * scale), 1))
        return cv2.resize(flat, size, interpolation=cv2.INTER_AREA), scale
    scale = min(text_scale(flat, small_pitch, target_pitch), (max_pixels / max(h * w, 1)) ** 0.5)
    if scale <= 1.0:
        return flat, 1.0
    size = (max(round(w * scale), 1), max(round(h * scale), 1))
    return cv2.resize(flat, size, interpolation=cv2.INTER_CUBIC), scale


def text_scale(
    grey: np.ndarray, small_pitch: float = _SMALL_PITCH, target_pitch: float = _TARGET_PITCH
) -> float:
    """How much to enlarge a cleaned page so its text is big enough for tesseract (>= 1)."""
    pitch = line_pitch(grey)
    if pitch is None or pitch >= small_pitch:
        return 1.0
    return min(target_pitch / pitch, _MAX_TEXT_SCALE)


def text_height(grey: np.ndarray, max_side: int = 2000) -> float | None:
    """Height in px of the page's typical letter (the x-height of mixed text, the cap height
    of capitals), from the ink's connected components; None when too few look like letters.

    Half the letters of a line or more are x-height letters, so the median height of
    letter-sized blobs is the x-height; specks, rules, pictures and touching lines fall
    outside the letter shape and are left out.
    """
    h, w = grey.shape
    # 2000 px keeps 6 pt print on A4 measurable; a rough measure can do with less.
    factor = 1.0 if max(h, w) <= max_side else max_side / max(h, w)
    small = grey if factor == 1.0 else cv2.resize(
        grey, (max(round(w * factor), 1), max(round(h * factor), 1)), interpolation=cv2.INTER_AREA)
    _, ink = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    heights = [bh for _, _, bw, bh, area in stats[1:count]
               if _MIN_LETTER <= bh <= small.shape[0] / 8 and bw <= 3 * bh
               and area >= 0.15 * bw * bh]
    if len(heights) < _MIN_LETTERS:
        return None
    return float(np.median(heights)) / factor
