"""PDF text layers: a scan's misread OCR layer is re-read, a good one kept, typed text trusted.

The PDFs are made here: a page set in a real font at 300 dpi as the page image, with a text
layer over it as OCR engines lay theirs (invisible text), either faithful or with the errors
other engines make (capitals misread, digits for letters, words split in two).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from PIL import Image

from fileproc_dagster.describe.documents.describe import PDF_MIME, describe_document
from fileproc_dagster.describe.documents.text_layer import agreement, is_suspect, suspect_share
from fileproc_dagster.describe.model import ExtractOptions
from support.pages import MINUTES, render_page, scanned_pdf, word_accuracy

pytest.importorskip("reportlab")

OPTIONS = ExtractOptions()
# What another engine made of some words: case slips, 0/1/5 for O/l/S, words split in two.
MISREADS = {"The": "THe", "the": "tHe", "council": "CounCil", "library.": "l1brary.",
            "summer": "5ummer", "treasurer": "trea surer", "expected,": "ex pected,",
            "Volunteers": "VoIunteers", "benches": "bEnches", "pounds.": "p0unds.",
            "boathouse": "boat house", "October": "0ctober", "month.": "rnonth.",
            "members": "mem bers", "choir": "cho1r", "meeting": "rneeting"}
RE_OCRED = "OCR text layer reads worse than the page image: re-OCRed"


@cache
def _scan() -> tuple[Image.Image, list[str]]:
    return render_page(MINUTES)


def _misread(lines: list[str]) -> list[str]:
    return [" ".join(MISREADS.get(word, word) for word in line.split(" ")) for line in lines]


# (id, layer: "misread" / "faithful", page image under it, render mode, layer drawn first,
#  expected source, expected reason)
CASES = [
    ("misread-invisible-layer", "misread", True, 3, False, "ocr", RE_OCRED),
    ("misread-layer-under-image", "misread", True, 0, True, "ocr", RE_OCRED),
    ("faithful-invisible-layer", "faithful", True, 3, False, "text layer",
     "OCR text layer over the page image reads plausibly"),
    ("typed-text-with-odd-words", "misread", False, 0, False, "text layer",
     "text drawn as text"),
    ("typed-text-over-background-image", "misread", True, 0, False, "text layer",
     "text drawn as text"),
]


@pytest.mark.parametrize(("layer", "with_image", "mode", "layer_first", "source", "why"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_text_layer_is_judged(tmp_path: Path, layer: str, with_image: bool, mode: int,
                              layer_first: bool, source: str, why: str) -> None:
    image, lines = _scan()
    truth = "\n".join(lines)
    layer_lines = _misread(lines) if layer == "misread" else lines
    path = scanned_pdf(tmp_path / "minutes.pdf",
                       [(image if with_image else None, layer_lines, mode)],
                       layer_first=layer_first)
    result = describe_document(path, PDF_MIME, OPTIONS)
    read = result.details["page_reads"][0]
    assert (read["source"], read["why"]) == (source, why), read
    assert result.details["source"] == source
    layer_text = "\n".join(layer_lines)
    if source == "ocr":  # the page image read better than the layer it carried
        accuracy = word_accuracy(truth, result.text)
        layer_accuracy = word_accuracy(truth, layer_text)
        print(f"re-OCRed: accuracy {accuracy:.3f}, the layer's {layer_accuracy:.3f}")
        assert accuracy >= 0.95 and accuracy > layer_accuracy + 0.05
        assert read["layer_suspect"] > read["ocr_suspect"] and 0 < read["agreement"] < 1
    else:  # kept word for word, and no OCR spent on it
        assert result.text.split() == layer_text.split()
        assert "ocr_pages" not in result.details


def test_each_page_is_judged_on_its_own(tmp_path: Path) -> None:
    image, lines = _scan()
    path = scanned_pdf(tmp_path / "two.pdf", [(image, lines, 3), (image, _misread(lines), 3)])
    result = describe_document(path, PDF_MIME, OPTIONS)
    assert [r["source"] for r in result.details["page_reads"]] == ["text layer", "ocr"]
    assert result.details["page_sources"] == ["text layer", "ocr"]
    assert result.details["source"] == "mixed"
    assert [p["page"] for p in result.details["ocr_pages"]] == [2]


@pytest.mark.parametrize(("word", "suspect"), [
    ("tHe", True), ("THe", True), ("WAter", True), ("CounCil", True), ("l0cal", True),
    ("5ummer", True), ("B1ue", True), ("p0unds", True),
    ("The", False), ("THE", False), ("the", False), ("PDFs", False), ("McDonald", False),
    ("3rd", False), ("10am", False), ("A4", False), ("COVID-19", False), ("1990s", False),
    ("2024-01-01", False), ("£35.00", False), ("don't", False), ("Zoë", False), ("a", False),
])
def test_misread_shaped_words(word: str, suspect: bool) -> None:
    assert is_suspect(word) is suspect


def test_clean_prose_is_not_suspect_and_misreads_are() -> None:
    _, lines = _scan()
    assert suspect_share("\n".join(lines)) == 0.0
    assert suspect_share("\n".join(_misread(lines))) > 0.05
    assert agreement("The fee is 5 pounds", "the fee is 5 pounds.") == 1.0
    assert re.fullmatch(r"0\.\d+", str(agreement("a b c d", "a x c d")))
