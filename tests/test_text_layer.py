"""PDF text layers: a scan's misread OCR layer is re-read, a good one kept, typed text trusted.

The PDFs are made here: a page set in a real font at 300 dpi as the page image, with a text
layer over it as OCR engines lay theirs (invisible text), either faithful or with the errors
other engines make (capitals misread, digits for letters, words split in two), or with
misreads that look like words (``Eichmond`` for Richmond, ``tbe`` for the).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from PIL import Image

from fileproc_dagster.describe.documents import layer_check
from fileproc_dagster.describe.documents.describe import PDF_MIME, describe_document
from fileproc_dagster.describe.documents.layer_check import dictionary_share, fixes_and_breaks
from fileproc_dagster.describe.documents.text_layer import (
    agreement,
    is_suspect,
    suspect_share,
    words,
)
from fileproc_dagster.describe.markdown import page_marker
from fileproc_dagster.describe.model import ExtractOptions
from fileproc_dagster.describe.ocr.languages import installed
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
NOTICE = (
    "The Richmond Rowing Club will hold its spring Sale of boats and oars on the first "
    "Saturday of May at the boathouse by the river. Members from London and from the towns "
    "along the Thames are welcome to bring their own boats to the Sale. The committee asks "
    "that every boat be cleaned and labelled with the name of the owner and the price before "
    "ten in the morning.\nTea and cakes will be served in the clubroom, and the proceeds will "
    "go to the fund for the new landing stage. Buyers should bring cash, as the club cannot "
    "take cards. The Sale closes at four, and any boat not sold must be taken away by evening."
)
# Misreads of the shape the word-shape check lets through: real-looking words, one letter off.
LOOKALIKES = {"Richmond": "Eichmond", "London": "Eondon", "the": "tbe", "Sale": "5ale",
              "Sale.": "5ale.", "Thames": "Tbames", "boats": "hoats"}


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


@cache
def _notice() -> tuple[Image.Image, list[str]]:
    return render_page(NOTICE)


def _lookalikes(lines: list[str]) -> list[str]:
    return [" ".join(LOOKALIKES.get(word, word) for word in line.split(" ")) for line in lines]


def test_layer_with_lookalike_misreads_is_replaced_page_by_page(tmp_path: Path) -> None:
    image, lines = _notice()
    bad = _lookalikes(lines)
    assert suspect_share("\n".join(bad)) < 0.02  # the word shapes alone would trust it
    path = scanned_pdf(tmp_path / "notice.pdf", [(image, lines, 3), (image, bad, 3)])
    result = describe_document(path, PDF_MIME, OPTIONS)
    kept, replaced = result.details["page_reads"]
    assert (kept["source"], kept["layer_check"]) == ("text layer", "every word known"), kept
    assert replaced["source"] == "ocr", replaced
    assert replaced["why"] == layer_check.REPLACED
    assert replaced["word_list"] == "en" and 0 < replaced["lines_checked"] <= 6
    assert replaced["sample_ocr_known"] > replaced["sample_layer_known"] + 0.02
    assert replaced["ocr_known"] > replaced["layer_known"] + 0.02
    # Every lookalike on the page is fixed (5ale, with a digit, is not judged by the word list
    # but read right all the same), and no word the layer had right is broken.
    judged = [w for w in " ".join(bad).split() if w in LOOKALIKES.values() and w[0] != "5"]
    assert (replaced["fixed_words"], replaced["broken_words"]) == (len(judged), 0)
    assert [p["page"] for p in result.details["ocr_pages"]] == [2]
    second = result.markdown.split(page_marker(2), 1)[1]
    found = set(words(second))
    assert {"Richmond", "London", "Sale", "Thames", "the", "boats"} <= found
    assert not found & {"Eichmond", "Eondon", "5ale", "Tbames", "tbe", "hoats"}
    truth = "\n".join(lines)
    accuracy, layer_accuracy = word_accuracy(truth, second), word_accuracy(truth, "\n".join(bad))
    print(f"re-OCRed: accuracy {accuracy:.3f}, the layer's {layer_accuracy:.3f}")
    assert accuracy >= 0.97 and accuracy > layer_accuracy + 0.1


def test_lookalike_misreads_are_judged_with_the_word_list_of_the_page_language(
        tmp_path: Path) -> None:
    if "deu" not in installed():
        pytest.skip("tesseract's German pack (tesseract-ocr-deu) is not installed")
    image, lines = render_page(
        "Die Stadtbibliothek in Regensburg bleibt ab dem nächsten Monat an den Werktagen bis "
        "neun Uhr abends geöffnet. Die Leiterin sagte, dass die Räume am Abend oft voll seien "
        "und die Leser länger bleiben wollten. Der Rat hat die Kosten bereits genehmigt.")
    lookalikes = {"Regensburg": "Eegensburg", "die": "dic", "Die": "Dic", "den": "dcn"}
    bad = [" ".join(lookalikes.get(word, word) for word in line.split(" ")) for line in lines]
    path = scanned_pdf(tmp_path / "bibliothek.pdf", [(image, bad, 3)])
    result = describe_document(path, PDF_MIME, OPTIONS)
    read = result.details["page_reads"][0]
    assert (read["source"], read["word_list"]) == ("ocr", "de"), read
    assert result.details["ocr_pages"][0]["language"] == "deu"
    assert word_accuracy("\n".join(lines), result.text) >= 0.97
    assert "Regensburg" in result.text and "Eegensburg" not in result.text


def test_right_layer_with_unlisted_words_is_read_again_and_kept(tmp_path: Path) -> None:
    image, lines = _scan()  # "harbour" and "slipway" are not in the American word list
    path = scanned_pdf(tmp_path / "minutes.pdf", [(image, lines, 3)])
    result = describe_document(path, PDF_MIME, OPTIONS)
    read = result.details["page_reads"][0]
    assert (read["source"], read["why"]) == ("text layer", layer_check.KEPT), read
    assert read["layer_check"] == "sample read again, no better" and read["lines_checked"] >= 1
    assert read["sample_fixed_words"] == 0 and read["check_seconds"] > 0
    assert result.text.split() == "\n".join(lines).split()
    assert "ocr_pages" not in result.details


def test_typed_text_with_lookalike_words_is_never_read_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_ocr(*args: object, **kwargs: object) -> None:
        raise AssertionError("a typed text layer was read again")

    monkeypatch.setattr(layer_check, "ocr_image", no_ocr)
    monkeypatch.setattr(layer_check, "read_page", no_ocr)
    image, lines = _notice()
    bad = _lookalikes(lines)
    for name, pages in [("typed", [(None, bad, 0)]), ("over-picture", [(image, bad, 0)])]:
        path = scanned_pdf(tmp_path / f"{name}.pdf", pages)
        result = describe_document(path, PDF_MIME, OPTIONS)
        read = result.details["page_reads"][0]
        assert (read["source"], read["why"]) == ("text layer", "text drawn as text"), read
        assert result.text.split() == "\n".join(bad).split()


def test_dictionary_share() -> None:
    assert dictionary_share("Eichmond is near tbe river", "en") == (3, 5)
    assert dictionary_share("Richmond is near the river.", "en") == (5, 5)
    # Numbers, codes and single letters are not judged; possessives and hyphens are.
    assert dictionary_share("5ale A4 a 1990 council's well-kept", "en") == (3, 3)


@pytest.mark.parametrize(("layer", "fresh", "counts"), [
    ("near Eichmond by tbe river", "near Richmond by the river", (2, 0)),
    ("near Richmond by the river", "near Eichmond by the river", (0, 1)),
    ("near Xyzzyq by the river", "near by the river", (0, 0)),  # a dropped word is not fixed
    ("near Xyzzyq by the river", "near Xyzzyq by the river today", (0, 0)),
])
def test_fixes_and_breaks(layer: str, fresh: str, counts: tuple[int, int]) -> None:
    assert fixes_and_breaks(layer, fresh, "en") == counts
