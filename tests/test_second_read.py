"""A second opinion on pages tesseract reads poorly, never on pages it reads well."""

from __future__ import annotations

import time
from pathlib import Path

from PIL import Image

from fileproc_dagster.describe.ocr.languages import language_details, read_page
from fileproc_dagster.describe.ocr.second_read import (
    SECOND_OPINION_BELOW,
    known_share,
    second_opinion,
)
from fileproc_dagster.describe.ocr.tesseract import OcrResult, ocr_image
from support.hard_pages import small_capture
from support.pages import MINUTES, render_page, word_accuracy


def test_a_page_read_well_gets_no_second_reading() -> None:
    page, _ = render_page(MINUTES)
    result = read_page(page.resize((page.width // 2, page.height // 2)))
    assert result.mean_confidence >= SECOND_OPINION_BELOW
    assert result.second_opinion is None


def test_a_poor_reading_is_replaced_by_a_better_second_one() -> None:
    page, lines = render_page(MINUTES, points=9.0)
    small = page.resize((page.width * 2 // 5, page.height * 2 // 5), Image.Resampling.LANCZOS)
    poor = OcrResult(text="Tbe harbovr tnist rnet", words=4, confident_words=0,
                     mean_confidence=35.0, detected="en")
    result = second_opinion(small, poor, timeout_s=60.0)
    assert result.second_opinion is not None
    assert result.second_opinion["kept"] != "first", result.second_opinion
    assert word_accuracy("\n".join(lines), result.text) >= 0.95


def test_a_hard_page_keeps_the_better_of_two_readings(tmp_path: Path) -> None:
    path, expected = small_capture(tmp_path / "capture.png", width=240)
    image = Image.open(path)
    first = ocr_image(image)
    assert first.mean_confidence < SECOND_OPINION_BELOW
    started = time.process_time()
    result = second_opinion(image, first, timeout_s=60.0)
    assert result.second_opinion is not None
    print(f"second opinion {result.second_opinion}, "
          f"{time.process_time() - started:.2f} CPU-s in this process")
    assert word_accuracy(expected, result.text) >= word_accuracy(expected, first.text) - 0.02


def test_second_opinions_are_in_the_details() -> None:
    facts = {"kept": "first", "first": {"confidence": 61.0, "words": 2}}
    read = OcrResult(text="a page", words=2, confident_words=1, mean_confidence=61.0,
                     second_opinion=facts)
    details = language_details([read], "a page", "auto")
    assert details["ocr_second_opinions"] == [{"ocr_page": 1, **facts}]


def test_dictionary_rate_counts_known_words() -> None:
    assert known_share("the harbour trust met on tuesday", "en") >= 0.8
    assert known_share("tbe hqrbovr trnst rnet", "en") <= 0.25
