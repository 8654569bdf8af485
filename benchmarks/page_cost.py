"""What page clean-up costs per page: the page check and the OCR of a clean scan and a photo.

``python -m benchmarks.page_cost [--repeats 7] [--corpus DIR]`` (not in the suite). Times, as
medians, ``detect`` (the page-or-photo check) and ``describe_document`` on a clean 300 dpi
scan (the corpus's one-page letter, or a page drawn here without a corpus) and on a phone
photo of a page made from it, against the floor measured in the same run: one plain
tesseract call on the same picture, with no clean-up at all.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fileproc_dagster.describe.detect import detect
from fileproc_dagster.describe.documents.describe import describe_document
from fileproc_dagster.describe.model import ExtractOptions

CLEAN_SCAN = "letter_8781.png"


def _median(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _drawn_scan(path: Path) -> Path:
    page = Image.new("L", (2480, 3508), 255)
    font = ImageFont.truetype("DejaVuSerif.ttf", 46)
    line = "The committee agreed to repair the garden fence before the spring fair."
    draw = ImageDraw.Draw(page)
    for row in range(30):
        draw.text((300, 300 + row * 67), line, font=font, fill=0)
    page.save(path, dpi=(300, 300))
    return path


def _photo_of(scan: Path, path: Path) -> Path:
    """The scan as a 1200 px phone photo, dark on its left side, soft and noisy."""
    page = np.asarray(Image.open(scan).convert("L"), np.float64)
    lit = 40 + page * (185 / 255) * (0.3 + 0.7 * np.linspace(0, 1, page.shape[1]))[None, :]
    small = Image.fromarray(lit.clip(0, 255).astype(np.uint8)).reduce(3)
    noisy = np.asarray(small, np.float32) + np.random.default_rng(0).normal(0, 4, small.size[::-1])
    out = io.BytesIO()
    Image.fromarray(noisy.clip(0, 255).astype(np.uint8)).save(out, format="JPEG", quality=75)
    path.write_bytes(out.getvalue())
    return path


def _plain_tesseract(path: Path) -> None:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    subprocess.run(["tesseract", str(path), "stdout"], capture_output=True, check=True, env=env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--corpus", type=Path, default=Path(os.environ.get(
        "FILEPROC_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")))
    args = parser.parse_args(argv)
    options = ExtractOptions()
    with tempfile.TemporaryDirectory() as tmp:
        scan = args.corpus / CLEAN_SCAN
        if not scan.is_file():
            scan = _drawn_scan(Path(tmp) / "scan.png")
        photo = _photo_of(scan, Path(tmp) / "photo.jpg")
        print(f"medians of {args.repeats} runs, seconds per page")
        for label, path in (("clean scan", scan), ("photographed page", photo)):
            mime = detect(path, options).mime
            floor = _median(partial(_plain_tesseract, path), args.repeats)
            check = _median(partial(detect, path, options), args.repeats)
            read = _median(partial(describe_document, path, mime, options), args.repeats)
            print(f"{label:18} page check {check:6.2f}  read {read:6.2f}  "
                  f"plain tesseract {floor:6.2f}  read/plain {read / floor:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
