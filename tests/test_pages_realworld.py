"""Real pages made by others (tests/realworld/pages, see sources.json), read by our pipeline and
by plain ``tesseract FILE -`` in the same run, each scored against the transcription of its
first lines made by eye (issue 21).

The set holds clean scans, faxes (CCITT G4), photographed pages, a receipt, a form, a
searchable PDF, faded copies, and two photos with some text that must stay photos. For a PDF
the plain reading is tesseract on each page rendered at 300 dpi; a searchable PDF's own text
layer is shown beside it. ``pytest -s`` prints the table.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from fileproc_dagster.describe import describe
from fileproc_dagster.describe.detect import detect
from fileproc_dagster.describe.model import ExtractOptions, FileKind
from support.pages import plain_tesseract, text_layer, transcript_accuracy

PAGES = Path(__file__).parent / "realworld" / "pages"
SOURCES = json.loads((PAGES / "sources.json").read_text())
KINDS = {"clean scan", "fax", "photographed page", "receipt", "form", "searchable pdf",
         "faded copy", "photo"}
OPTIONS = ExtractOptions()
SLACK = 0.02  # how much worse than plain tesseract a page may read
MEDIAN, MINIMUM = 0.97, 0.90  # word accuracy over the documents' pages
# Issue 21's targets not met yet, pinned with today's figures: another page reading worse
# fails, and so does meeting a target (then the pin goes).
SHORT_OF_TESSERACT = {"pikepdf_jbig2global.pdf"}  # its OCR layer is kept: 0.935, plain 0.968
SHORT_OF_MEDIAN = ("issue 21: median 0.935 and minimum 0.667 over the documents (the faded "
                   "copies, a photographed page, a form and a receipt are below 0.90)")


@dataclass(frozen=True)
class Reading:
    """One file as our pipeline and plain tesseract read it, scored against its transcript."""

    name: str
    kind: str
    document: bool
    called: FileKind
    ours: float
    tesseract: float
    layer: float | None  # a PDF's own text layer

    @property
    def verdict(self) -> str:
        wrong_call = (self.called is FileKind.DOCUMENT) != self.document
        if wrong_call:
            return f"called {self.called}"
        if self.document and self.ours < self.tesseract - SLACK:
            return "worse than tesseract"
        if self.document and self.ours < MINIMUM:
            return f"below {MINIMUM}"
        return "ok"


@cache
def read(name: str) -> Reading:
    row = next(r for r in SOURCES if r["file"] == name)
    path = PAGES / name
    detection = detect(path, OPTIONS)
    ours = describe(path, detection, OPTIONS).text
    layer = text_layer(path) if path.suffix == ".pdf" else None
    return Reading(name, row["kind"], row["document"], detection.kind,
                   transcript_accuracy(row["transcript"], ours),
                   transcript_accuracy(row["transcript"], plain_tesseract(path)),
                   None if layer is None else transcript_accuracy(row["transcript"], layer))


@cache
def readings() -> tuple[Reading, ...]:
    every = tuple(read(row["file"]) for row in SOURCES)
    print(f"\n{'file':36} {'kind':18} {'called':9} {'ours':>6} {'tess.':>6} {'layer':>6}  verdict")
    for r in every:
        layer = "-" if r.layer is None else f"{r.layer:.3f}"
        print(f"{r.name:36} {r.kind:18} {r.called:9} {r.ours:6.3f} {r.tesseract:6.3f} "
              f"{layer:>6}  {r.verdict}")
    pages = [r.ours for r in every if r.document]
    print(f"documents: median {statistics.median(pages):.3f}, min {min(pages):.3f} (ours); "
          f"median {statistics.median(r.tesseract for r in every if r.document):.3f} (tesseract)")
    return every


def test_the_set_names_every_file_with_its_source_licence_kind_and_transcript() -> None:
    listed = [row["file"] for row in SOURCES]
    assert sorted(listed) == sorted(p.name for p in PAGES.iterdir() if p.name != "sources.json")
    assert 10 <= len(listed) <= 16 and len(set(listed)) == len(listed)
    total = 0
    for row in SOURCES:
        data = (PAGES / row["file"]).read_bytes()
        total += len(data)
        assert len(data) < 1_000_000 and len(data) == row["bytes"], row["file"]
        assert hashlib.sha256(data).hexdigest() == row["sha256"], row["file"]
        assert row["licence"] and row["package"] and row["version"], row["file"]
        assert row["origin"].startswith("https://") and row["path_in_package"], row["file"]
        assert row["kind"] in KINDS and row["document"] == (row["kind"] != "photo"), row["file"]
        assert row["transcript"].strip(), row["file"]
        # At least ~40 words where the page has them; a sign, a label or a form's header less.
        if row["kind"] not in ("photo", "form", "receipt"):
            assert len(row["transcript"].split()) >= 25, row["file"]
    assert total < 8_000_000
    kinds = {row["kind"] for row in SOURCES}
    assert kinds == KINDS, KINDS - kinds


def test_the_scorer_finds_the_transcript_in_a_longer_reading() -> None:
    transcript = "The quick brown dog jumped over the lazy fox."
    assert transcript_accuracy(transcript, "Page 4\nthe quick brown dog jumped over the lazy fox"
                                           "\nand more text after it") == 1.0
    # One word misread of nine, one missing: two edits.
    assert transcript_accuracy(transcript, "margin The quick brown d0g jumped over lazy fox") \
        == pytest.approx(1 - 2 / 9, abs=1e-3)
    assert transcript_accuracy(transcript, "") == 0.0


@pytest.mark.slow
def test_no_page_reads_worse_than_plain_tesseract() -> None:
    worse = {r.name: (r.ours, r.tesseract) for r in readings()
             if r.document and r.ours < r.tesseract - SLACK}
    assert worse.keys() == SHORT_OF_TESSERACT, worse


@pytest.mark.slow
def test_every_document_is_called_a_document_and_every_photo_a_photo() -> None:
    wrong = [(r.name, r.kind, str(r.called)) for r in readings()
             if (r.called is FileKind.DOCUMENT) != r.document]
    assert wrong == []


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=SHORT_OF_MEDIAN)
def test_median_and_minimum_word_accuracy_of_the_pages() -> None:
    pages = {r.name: r.ours for r in readings() if r.document}
    assert statistics.median(pages.values()) >= MEDIAN, pages
    assert min(pages.values()) >= MINIMUM, pages
