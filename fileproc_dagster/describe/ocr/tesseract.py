"""Tesseract OCR of one page image: clean-up (cleanup.py), deskew, rotation fallback, a time bound.

Example::

    from PIL import Image
    from fileproc_dagster.describe.ocr.tesseract import ocr_image

    result = ocr_image(Image.open("scan.png"))
    print(result.text, result.mean_confidence)
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import time
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np
from PIL import Image

from fileproc_dagster.describe.ocr.cleanup import clean_scan, prepare_page
from fileproc_dagster.errors import FileprocError, StepTimeout

__all__ = ["CONFIDENT", "OcrResult", "clean_scan", "estimate_skew", "ocr_image", "rotate",
           "word_rows"]

log = logging.getLogger(__name__)

TESSERACT = "tesseract"  # the command, found on PATH
CONFIDENT = 70.0  # tesseract word confidence (0-100) counted as "confident"
# Below this mean confidence the page may be upside down or sideways: ask OSD, retry once.
_ROTATION_CHECK_BELOW = 55.0
_MAX_PIXELS = 40_000_000  # tesseract time grows with area; larger pages are scaled down
_SMALL_LONG_SIDE = 1200  # small images (screenshots, crops) read better at twice the size
_MAX_SKEW_DEG = 15.0
_NOISE_BLOCK = 40.0  # mean word confidence below which a block beside real text is noise


@dataclass(frozen=True)
class _Budget:
    deadline: float  # time.monotonic() value
    limit_s: float


@dataclass(frozen=True)
class OcrResult:
    """Recognised text of one image, with how many words tesseract was confident about."""

    text: str
    words: int
    confident_words: int
    mean_confidence: float
    skew_deg: float = 0.0  # angle the page was turned by before OCR (deskew)
    rotated_deg: int = 0  # quarter turns applied after orientation detection (0/90/180/270)
    seconds: float = 0.0
    language: str = "eng"  # tesseract model(s) the text was read with
    # Filled in by languages.read_page: configured or detected, the text's ISO 639-1 code and
    # its probability, and the script tesseract's OSD saw when it was asked.
    language_source: str = "configured"
    detected: str = ""
    detected_probability: float = 0.0
    script: str = ""
    # Filled in by second_read.second_opinion when the page was read a second way.
    second_opinion: dict[str, Any] | None = None


def ocr_image(
    image: Image.Image, *, language: str = "eng", timeout_s: float = 120.0, clean: bool = True
) -> OcrResult:
    """OCR one page image; raises StepTimeout when tesseract runs past ``timeout_s``.

    ``clean=True`` treats the image as a scanned page (background normalisation, noise filter,
    deskew, 90/180 degree rotation check); ``clean=False`` reads it as it is (photos).
    """
    started = time.monotonic()
    budget = _Budget(started + timeout_s, timeout_s)
    dpi = _dpi_of(image)
    grey = _to_grey(image)
    grey, scale = _bounded_size(grey, upscale_small=clean)
    dpi = round(dpi * scale) if dpi else None
    if clean:
        grey, enlarged = prepare_page(grey, _MAX_PIXELS)
        dpi = round(dpi * enlarged) if dpi else None
        result = _read_page(grey, language, budget, dpi, turn=0)
        if result.words and result.mean_confidence < _ROTATION_CHECK_BELOW:
            turn = _orientation(grey, budget)
            if turn:
                turned = np.ascontiguousarray(np.rot90(grey, k=-turn // 90))
                retry = _read_page(turned, language, budget, dpi, turn=turn)
                if retry.mean_confidence > result.mean_confidence:
                    result = retry
    else:
        result = _result(*_tesseract(grey, language, budget, dpi), skew=0.0, turn=0)
    seconds = time.monotonic() - started
    log.debug("OCR %d words, confidence %.1f, skew %.2f deg, turn %d deg, %.1f s",
              result.words, result.mean_confidence, result.skew_deg, result.rotated_deg, seconds)
    return replace(result, seconds=seconds, language=language)


def _read_page(
    grey: np.ndarray, language: str, budget: _Budget, dpi: int | None, *, turn: int
) -> OcrResult:
    skew = estimate_skew(grey)
    if skew:
        grey = rotate(grey, skew)
    return _result(*_tesseract(grey, language, budget, dpi), skew=skew, turn=turn)


def estimate_skew(grey: np.ndarray) -> float:
    """Angle (degrees, counter-clockwise positive) that makes text lines horizontal; 0 if unsure."""
    h, w = grey.shape
    factor = 1000.0 / max(h, w)
    small = cv2.resize(grey, (max(int(w * factor), 1), max(int(h * factor), 1)),
                       interpolation=cv2.INTER_AREA) if factor < 1 else grey
    _, ink = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    if ink.sum() < 200:  # (almost) blank page: nothing to align
        return 0.0
    ink = ink.astype(np.float32)

    def sharpness(angle: float, page: np.ndarray = ink) -> float:
        # Rows of a well aligned page alternate between full (text) and empty (leading), so the
        # row sums vary most at the right angle.
        rows = rotate(page, angle, fill=0.0).sum(axis=1)
        return float(np.square(np.diff(rows)).sum())

    # Degree steps on a half-size copy find the angle's neighbourhood at a tenth of the cost
    # of half degrees at full size; tenths of a degree at full size settle it.
    half = cv2.resize(ink, (max(ink.shape[1] // 2, 1), max(ink.shape[0] // 2, 1)),
                      interpolation=cv2.INTER_AREA)
    coarse = np.arange(-_MAX_SKEW_DEG, _MAX_SKEW_DEG + 0.01, 1.0)
    scores = [sharpness(a, half) for a in coarse]
    best = float(coarse[int(np.argmax(scores))])
    fine = np.arange(max(best - 1.0, -_MAX_SKEW_DEG), min(best + 1.0, _MAX_SKEW_DEG) + 0.01, 0.1)
    fine_scores = [sharpness(a) for a in fine]
    # Rounded before the comparison: a step of 0.1 from -1.0 lands on 0.29999999999999993.
    best = round(float(fine[int(np.argmax(fine_scores))]), 2)
    # A flat profile (pictures, very little text) gives no trustworthy angle.
    if max(fine_scores) < 1.05 * sharpness(0.0) or abs(best) < 0.3:
        return 0.0
    return best


def rotate(grey: np.ndarray, angle: float, fill: float = 255.0) -> np.ndarray:
    """Turn ``grey`` by ``angle`` degrees counter-clockwise about its centre, same size."""
    h, w = grey.shape
    matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, 1.0)
    return cv2.warpAffine(grey, matrix, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=fill)


def _to_grey(image: Image.Image) -> np.ndarray:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # 16-bit and float scans: Pillow's convert("L") clips them instead of scaling.
        values = np.asarray(image, dtype=np.float32)
        low, high = float(values.min()), float(values.max())
        return ((values - low) * (255.0 / max(high - low, 1e-6))).astype(np.uint8)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        # Transparent areas would otherwise turn black and swallow dark text.
        rgba = image.convert("RGBA")
        backdrop = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(backdrop, rgba)
    return np.asarray(image.convert("L"), dtype=np.uint8)


def _dpi_of(image: Image.Image) -> int | None:
    dpi = image.info.get("dpi")
    try:
        value = int(round(float(dpi[0]))) if dpi else 0
    except (TypeError, ValueError, IndexError):
        return None
    return value if 70 <= value <= 1200 else None


def _bounded_size(grey: np.ndarray, *, upscale_small: bool) -> tuple[np.ndarray, float]:
    h, w = grey.shape
    if h * w > _MAX_PIXELS:
        scale = (_MAX_PIXELS / (h * w)) ** 0.5
        interpolation = cv2.INTER_AREA
    elif upscale_small and max(h, w) < _SMALL_LONG_SIDE:
        scale, interpolation = 2.0, cv2.INTER_CUBIC
    else:
        return grey, 1.0
    size = (max(int(w * scale), 1), max(int(h * scale), 1))
    return cv2.resize(grey, size, interpolation=interpolation), scale


def _tesseract_env() -> dict[str, str]:
    # Tesseract's OpenMP threads spin while they wait; on a small shared machine one thread
    # per process is faster in wall time and leaves the other cores to parallel pages.
    env = dict(os.environ)
    env.setdefault("OMP_THREAD_LIMIT", "1")
    return env


def _run(grey: np.ndarray, args: list[str], budget: _Budget) -> subprocess.CompletedProcess[bytes]:
    """Run tesseract on ``grey`` (sent as PNG on stdin, so no file name reaches the command)."""
    # pytesseract's own call cannot give the child a different environment, so the command is
    # run here, without pytesseract: importing it imports pandas, a third of a second in the
    # run worker (the page check at detection) and again in the extraction worker.
    left = budget.deadline - time.monotonic()
    if left <= 0:
        raise StepTimeout(f"OCR ran past its time limit of {budget.limit_s:g} s")
    ok, png = cv2.imencode(".png", grey, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise ValueError("could not encode the page image for tesseract")
    command = [TESSERACT, "stdin", "stdout", *args]
    try:
        return subprocess.run(command, input=png.tobytes(), capture_output=True, timeout=left,
                              env=_tesseract_env(), check=False)
    except subprocess.TimeoutExpired as exc:  # subprocess.run has already killed tesseract
        raise StepTimeout(f"OCR ran past its time limit of {budget.limit_s:g} s "
                          "and was stopped") from exc


def _tesseract(
    grey: np.ndarray, language: str, budget: _Budget, dpi: int | None
) -> tuple[list[float], list[str]]:
    """One tesseract run: word confidences and the text as lines (blank line between blocks)."""
    args = ["-l", language] + (["--dpi", str(dpi)] if dpi else []) + ["tsv"]
    done = _run(grey, args, budget)
    if done.returncode != 0:
        raise FileprocError(f"tesseract failed ({done.returncode}): "
                            f"{done.stderr.decode(errors='replace').strip()}")
    confidences: list[float] = []
    lines: list[str] = []
    current: list[str] = []
    last_line: tuple[str, str, str] | None = None
    rows = _word_rows(done.stdout)
    noise = _noise_blocks(rows)  # only word rows (level 5) carry text
    for cells in rows:
        if cells[2] in noise:
            continue
        key = (cells[2], cells[3], cells[4])  # block, paragraph, line
        if key != last_line and current:
            lines.append(" ".join(current))
            if last_line is not None and key[:2] != last_line[:2]:
                lines.append("")  # paragraph or block boundary
            current = []
        last_line = key
        current.append(cells[11].strip())
        confidences.append(float(cells[10]))
    if current:
        lines.append(" ".join(current))
    return confidences, lines


def word_rows(grey: np.ndarray, language: str, timeout_s: float) -> list[list[str]]:
    """Tesseract's TSV rows of the words it reads on ``grey`` as it is (no clean-up): level,
    page, block, paragraph, line, word, left, top, width, height, confidence, text."""
    done = _run(grey, ["-l", language, "tsv"], _Budget(time.monotonic() + timeout_s, timeout_s))
    if done.returncode != 0:
        raise FileprocError(f"tesseract failed ({done.returncode}): "
                            f"{done.stderr.decode(errors='replace').strip()}")
    return _word_rows(done.stdout)


def _word_rows(tsv: bytes) -> list[list[str]]:
    return [cells for row in tsv.decode("utf-8", errors="replace").splitlines()[1:]
            if len(cells := row.split("\t", 11)) == 12 and cells[0] == "5" and cells[11].strip()]


def _noise_blocks(rows: list[list[str]]) -> set[str]:
    """Blocks tesseract made of specks beside real text: the dark edge of a photographed page.

    Only when the page has a block it reads well (a mean word confidence of CONFIDENT) are
    blocks it can barely read (below _NOISE_BLOCK) taken for noise, never on a page all hard.
    """
    by_block: dict[str, list[float]] = {}
    for cells in rows:
        by_block.setdefault(cells[2], []).append(float(cells[10]))
    means = {block: sum(c) / len(c) for block, c in by_block.items()}
    if not any(mean >= CONFIDENT for mean in means.values()):
        return set()
    return {block for block, mean in means.items() if mean < _NOISE_BLOCK}


def _orientation(grey: np.ndarray, budget: _Budget) -> int:
    """Clockwise quarter turn (0/90/180/270) tesseract's OSD suggests, 0 when it cannot tell."""
    report = _run(grey, ["--psm", "0"], budget).stdout.decode(errors="replace")
    turn = re.search(r"Rotate:\s*(\d+)", report)
    confidence = re.search(r"Orientation confidence:\s*([\d.]+)", report)
    if not turn or not confidence or float(confidence.group(1)) < 2.0:
        return 0  # too few characters to decide, or a guess
    return int(turn.group(1)) % 360


def _result(confidences: list[float], lines: list[str], *, skew: float, turn: int) -> OcrResult:
    scored = [c for c in confidences if c >= 0]
    return OcrResult(
        text="\n".join(lines).strip(),
        words=len(confidences),
        confident_words=sum(1 for c in scored if c >= CONFIDENT),
        mean_confidence=round(sum(scored) / len(scored), 2) if scored else 0.0,
        skew_deg=skew,
        rotated_deg=turn,
    )
