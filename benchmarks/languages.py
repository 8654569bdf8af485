"""``python -m benchmarks.languages``: what language detection adds to the OCR of a page.

For each page, the median wall time of OCR with the English model alone (what ``eng`` did
before) and of ``read_page`` under ``auto`` (English read, language identification, and a
second read when the page is in another language), over ``--repeats`` runs, with their
ratio. English pages are the case that must stay cheap; a German page shows the cost of the
second read. Corpus scans are used when the corpus is there (``--corpus``).
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from benchmarks.common import default_corpus, log
from fileproc_dagster.describe.ocr.languages import identify, language_model, read_page
from fileproc_dagster.describe.ocr.tesseract import ocr_image

ENGLISH = ("The quarterly meeting of the harbour trust\nwill be held on Tuesday 14 May at 7 pm\n"
           "in the reading room above the old library.\nMembers are asked to bring the "
           "accounts\nand any questions for the treasurer.")
GERMAN = ("Sehr geehrte Frau Müller,\nwir bestätigen gern den Empfang Ihres Schreibens vom\n"
          "12. März. Die Prüfung der Unterlagen hat ergeben, dass für\ndas Grundstück am "
          "Gänsemarkt keine weiteren Gebühren\nfällig sind. Mit freundlichen Grüßen")
CORPUS_PAGES = ("letter_8781.png", "scan_4278.png", "clipping_6549.tiff")


def typed(text: str) -> Image.Image:
    font = ImageFont.truetype("DejaVuSansMono.ttf", 40)
    page = Image.new("L", (2300, 1100), 255)
    ImageDraw.Draw(page).multiline_text((120, 200), text, font=font, fill=0, spacing=24)
    return page


def medians_s(calls: list[Callable[[], object]], repeats: int) -> list[float]:
    """Median wall time of each call, the calls taking turns so load changes hit all alike."""
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(repeats):
        for call, spent in zip(calls, times, strict=True):
            started = time.perf_counter()
            call()
            spent.append(time.perf_counter() - started)
    return [statistics.median(spent) for spent in times]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--corpus", type=Path, default=default_corpus())
    args = parser.parse_args()
    started = time.perf_counter()
    language_model()
    log(f"language model loaded once per process in {time.perf_counter() - started:.2f} s")
    pages = {"typed English page": typed(ENGLISH), "typed German page": typed(GERMAN)}
    for name in CORPUS_PAGES:
        if (args.corpus / name).is_file():
            with Image.open(args.corpus / name) as image:
                image.load()
                pages[f"corpus {name}"] = image.copy()
    print("| page | eng only, median s | auto, median s | ratio | identification alone, ms |")
    print("|---|---|---|---|---|")
    for name, page in pages.items():
        plain, auto = medians_s([functools.partial(ocr_image, page, language="eng"),
                                 functools.partial(read_page, page)], args.repeats)
        # The step auto adds to an English page, timed apart (immune to the OCR's jitter).
        text = ocr_image(page, language="eng").text
        alone = medians_s([functools.partial(identify, text)], 50)[0]
        print(f"| {name} | {plain:.3f} | {auto:.3f} | {auto / plain:.3f} | {alone * 1000:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
