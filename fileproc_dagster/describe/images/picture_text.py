"""Text that appears inside a photo (signs, labels, cards), read without inventing any.

Tesseract expects dark text on a plain light page. A photo is neither: a sign may be white on
red over a busy background, and read whole it yields nothing or noise. So text-like regions
are found first (strong edges packed into a line), each is binarised on its own (which turns
light-on-dark into dark-on-light), and all of them are read in one tesseract call. Only lines
tesseract is sure about are kept, so a photo without text gives "".
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
from PIL import Image

from fileproc_dagster.errors import StepTimeout

log = logging.getLogger(__name__)

_LINE_HEIGHT = 40  # px each region is scaled to; tesseract reads ~30 px capitals best
_MIN_HEIGHT = 12  # smaller regions are texture, or text too small to read in a photo
_MAX_REGIONS = 150
_MAX_STRIP_WIDTH = 2400
_WORD_CONFIDENCE = 60.0
_ANCHOR_CONFIDENCE = 80.0  # a kept line needs one word this sure, of 3+ letters or digits


def find_text(image: Image.Image, *, language: str = "eng", timeout_s: float = 60.0) -> str:
    """Confident text found in a picture, one line per text line ("" when there is none)."""
    grey = np.asarray(image.convert("L"), dtype=np.uint8)
    regions = text_regions(grey)
    if not regions:
        return ""
    strips = [_strip(grey, box) for box in regions]
    width = max(s.shape[1] for s in strips)
    canvas = np.vstack([cv2.copyMakeBorder(s, 0, 0, 0, width - s.shape[1],
                                           cv2.BORDER_CONSTANT, value=255) for s in strips])
    import pytesseract  # here: it imports pandas, which a picture without text never needs

    try:
        data = pytesseract.image_to_data(Image.fromarray(canvas), lang=language,
                                         config="--psm 6", output_type=pytesseract.Output.DICT,
                                         timeout=timeout_s)
    except pytesseract.TesseractError:
        raise
    except RuntimeError as exc:  # pytesseract's way of saying it killed tesseract on timeout
        reason = f"reading text in the picture took longer than {timeout_s:.0f} s"
        raise StepTimeout(reason) from exc
    lines = _confident_lines(data)
    log.debug("picture text: %d regions, %d confident lines", len(regions), len(lines))
    return "\n".join(lines)


def text_regions(grey: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes (x, y, w, h) that look like a line of text, in reading order."""
    edges = cv2.morphologyEx(grey, cv2.MORPH_GRADIENT,
                             cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    _, ink = cv2.threshold(edges, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    # Letters of a word are a few px apart: closing horizontally joins them into one blob.
    joined = cv2.morphologyEx(ink, cv2.MORPH_CLOSE,
                              cv2.getStructuringElement(cv2.MORPH_RECT, (15, 3)))
    _, _, stats, _ = cv2.connectedComponentsWithStats(joined)
    height, width = grey.shape
    boxes = []
    for x, y, w, h, _area in stats[1:]:
        if not (_MIN_HEIGHT <= h <= height * 0.25 and 1.5 * h <= w <= width * 0.95):
            continue
        fill = float(ink[y:y + h, x:x + w].mean()) / 255.0
        if 0.2 <= fill <= 0.8:  # outlines and solid patches are not text
            boxes.append((int(x), int(y), int(w), int(h)))
    boxes = sorted(boxes, key=lambda b: b[2] * b[3], reverse=True)[:_MAX_REGIONS]
    return _merge_lines(sorted(boxes, key=lambda b: (b[1], b[0])))


def _merge_lines(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Join words of one line (same height band, a word gap apart) into one box."""
    merged: list[tuple[int, int, int, int]] = []
    for box in sorted(boxes, key=lambda b: (b[0], b[1])):
        x, y, w, h = box
        for i, (mx, my, mw, mh) in enumerate(merged):
            overlap = min(y + h, my + mh) - max(y, my)
            gap = x - (mx + mw)
            if overlap >= 0.6 * min(h, mh) and gap <= 1.5 * max(h, mh) and x >= mx:
                nx, ny = mx, min(y, my)
                merged[i] = (nx, ny, max(x + w, mx + mw) - nx, max(y + h, my + mh) - ny)
                break
        else:
            merged.append(box)
    return sorted(merged, key=lambda b: (b[1], b[0]))


def _strip(grey: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """One region, binarised to dark text on white, scaled to a readable height, padded."""
    x, y, w, h = box
    margin = max(h // 3, 2)
    crop = grey[max(0, y - margin):y + h + margin, max(0, x - margin):x + w + margin]
    _, binary = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    border = np.concatenate([binary[0], binary[-1], binary[:, 0], binary[:, -1]])
    if border.mean() < 128:  # the surround is dark, so the text is light: flip it
        binary = 255 - binary
    scale = min(_LINE_HEIGHT / h, _MAX_STRIP_WIDTH / binary.shape[1])
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    binary = cv2.resize(binary, None, fx=scale, fy=scale, interpolation=interpolation)
    return cv2.copyMakeBorder(binary, 20, 20, 20, 20, cv2.BORDER_CONSTANT, value=255)


def _confident_lines(data: dict[str, list[object]]) -> list[str]:
    lines: dict[tuple[int, int, int], list[tuple[str, float]]] = {}
    for i, raw in enumerate(data["text"]):
        word = str(raw or "").strip()
        if word:
            key = (int(str(data["block_num"][i])), int(str(data["par_num"][i])),
                   int(str(data["line_num"][i])))
            lines.setdefault(key, []).append((word, float(str(data["conf"][i]))))
    kept = []
    for words in lines.values():
        anchored = any(conf >= _ANCHOR_CONFIDENCE and sum(ch.isalnum() for ch in word) >= 3
                       for word, conf in words)
        if anchored:
            kept.append(" ".join(w for w, conf in words if conf >= _WORD_CONFIDENCE))
    return kept
