"""describe_document: scored on the development corpus, and on small files made here."""

from __future__ import annotations

import difflib
import io
import json
import logging
import os
import re
import time
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import docx
import magic
import pytest
from PIL import Image, ImageDraw, ImageFont

from fileproc_dagster.describe.documents.describe import describe_document
from fileproc_dagster.describe.model import DOCX_MIME, PDF_MIME, ExtractOptions
from fileproc_dagster.errors import BadInput

log = logging.getLogger(__name__)

_CORPUS = Path(os.environ.get("FILEPROC_CORPUS",
                              Path(__file__).resolve().parents[2] / "shared" / "corpus"))
OPTIONS = ExtractOptions()

# Word accuracy each OCRed corpus page must reach; 0.95 unless listed here.
_OCR_FLOOR = {"scan_4278.png": 0.90, "photocopy_1848.jpg": 0.90}
# Files that are not documents in the manifest's groups but are valid documents all the same.
_EDGE_DOCUMENTS = {"photo_5894.jpg", "Résumé final (1).pdf"}


def _corpus_documents() -> list[Any]:
    """Manifest names of every valid document, one test each; a placeholder without a corpus."""
    manifest = _CORPUS / "manifest.json"
    if not manifest.is_file():
        return [pytest.param(None, id="corpus-missing")]
    files = json.loads(manifest.read_text())["files"]
    names = [f["name"] for f in files if f["group"] == "document"
             or f["name"] in _EDGE_DOCUMENTS or f["name"].startswith("long_name")]
    return [pytest.param(n, id=n if len(n) < 40 else n[:37] + "...") for n in names]


def _describe(path: Path, options: ExtractOptions = OPTIONS) -> Any:
    """Call the extractor the way the product does: with the MIME libmagic detects."""
    return describe_document(path, magic.from_file(str(path), mime=True), options)


@pytest.mark.corpus
@pytest.mark.parametrize("name", _corpus_documents())
def test_corpus_document(
    name: str | None, corpus: Path, manifest: dict[str, dict[str, Any]], scorer: ModuleType,
    record_property: Any,
) -> None:
    assert name is not None  # without a corpus the fixture has skipped (or failed, in CI)
    entry = manifest[name]
    started = time.monotonic()
    result = _describe(corpus / name)
    seconds = time.monotonic() - started
    score = scorer.score(entry["expected_text"], result.text)
    pages = result.details["pages"]
    record_property("accuracy", score["accuracy"])
    record_property("seconds_per_page", round(seconds / pages, 2))
    print(f"{name}: accuracy {score['accuracy']:.3f}, {seconds / pages:.2f} s/page")
    log.info("%s: accuracy %.3f, %.2f s per page", name, score["accuracy"], seconds / pages)

    if entry["expected"].get("pages"):
        assert pages == entry["expected"]["pages"]
    assert result.description.startswith(result.details["kind"])
    assert result.details["words"] == len(result.text.split())
    if entry["expected"].get("text_layer") is False:  # a scan: OCR
        assert result.details["source"] == "ocr"
        assert result.details["ocr_mean_confidence"] > 80
        assert score["accuracy"] >= _OCR_FLOOR.get(name, 0.95), score
        assert result.thumbnail is not None and _png_size(result.thumbnail) <= 256
    else:  # text layer, .txt, .docx: nothing may be lost or changed
        assert scorer.normalise(result.text) == scorer.normalise(entry["expected_text"])
        assert result.details["source"] in ("text layer", "text")


@pytest.mark.corpus
@pytest.mark.parametrize(("name", "verdict"), [
    ("confidential_2558.pdf", "unsupported"),  # encrypted
    ("contract_7195.pdf", "invalid"),  # PDF header, garbage, no xref
    ("upload.pdf", "invalid"),  # 0 bytes
    ("holiday_7692.png", "invalid"),  # truncated
    ("thumbnail_2305.png", "invalid"),  # decompression bomb
])
def test_corpus_bad_document(name: str, verdict: str, corpus: Path) -> None:
    with pytest.raises(BadInput) as caught:
        _describe(corpus / name)
    assert caught.value.verdict == verdict
    if name.startswith("confidential"):
        assert caught.value.reason == "encrypted PDF: a password is needed to read it"


# Small files made here, so the module is covered without the corpus.

TEXT = ("Minutes of the allotment society\n"
        "The new water troughs arrive on Friday.\n"
        "Plot rents rise to twelve pounds next year.")


def _font() -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype("DejaVuSerif.ttf", 44)
    except OSError:
        pytest.skip("the DejaVu fonts (fonts-dejavu-core) are not installed")


def _page(text: str = TEXT) -> Image.Image:
    page = Image.new("L", (2480, 1400), 255)
    ImageDraw.Draw(page).multiline_text((200, 250), text, font=_font(), fill=0, spacing=26)
    return page


def _accuracy(expected: str, got: str) -> float:
    def words(s: str) -> list[str]:
        return re.findall(r"\w+", s.casefold())

    return difflib.SequenceMatcher(None, words(expected), words(got)).ratio()


def _png_size(data: bytes) -> int:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return max(image.size)


def test_page_image_is_ocred(tmp_path: Path) -> None:
    path = tmp_path / "page.png"
    _page().save(path, dpi=(300, 300))
    result = _describe(path)
    assert _accuracy(TEXT, result.text) == 1.0
    assert result.details["pages"] == 1 and result.details["source"] == "ocr"
    assert result.details["ocr_pages"][0]["confidence"] > 80
    assert result.description.startswith("PNG page image, 1 page, 20 words: Minutes of the")
    assert result.thumbnail is not None and _png_size(result.thumbnail) == 256


def test_multipage_tiff_reads_every_page(tmp_path: Path) -> None:
    path = tmp_path / "fax.tif"
    first, second = _page(), _page("Second page of the fax\nwith the signed order form.")
    first.save(path, save_all=True, append_images=[second], compression="tiff_lzw")
    result = _describe(path)
    assert result.details["pages"] == 2
    expected = TEXT + "\nSecond page of the fax with the signed order form"
    assert _accuracy(expected, result.text) > 0.95
    assert "\n\nSecond page" in result.text  # pages are separated by a blank line


def test_scanned_pdf_is_rendered_and_ocred(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    _page().save(path, save_all=True, append_images=[_page("Page two\nends here.")],
                  resolution=300.0)
    result = _describe(path)
    assert result.details["pages"] == 2
    assert result.details["page_sources"] == ["ocr", "ocr"]
    assert result.text.endswith("Page two\nends here.")
    assert result.thumbnail is not None and _png_size(result.thumbnail) <= 256


def test_pdf_text_layer_is_used_as_is(tmp_path: Path) -> None:
    canvas = pytest.importorskip("reportlab.pdfgen.canvas")
    path = tmp_path / "digital.pdf"
    pdf = canvas.Canvas(str(path))
    for page_text in ("A born-digital first page with a real text layer.",
                      "Its second page, also typed: Zoë paid £35."):
        pdf.drawString(72, 720, page_text)
        pdf.showPage()
    pdf.save()
    result = _describe(path)
    assert result.text == ("A born-digital first page with a real text layer.\n\n"
                           "Its second page, also typed: Zoë paid £35.")
    assert result.details["source"] == "text layer" and result.details["pages"] == 2
    assert "ocr_mean_confidence" not in result.details


def test_encrypted_pdf_needs_a_password(tmp_path: Path) -> None:
    canvas = pytest.importorskip("reportlab.pdfgen.canvas")
    path = tmp_path / "locked.pdf"
    pdf = canvas.Canvas(str(path), encrypt="secret")
    pdf.drawString(72, 720, "Salary review")
    pdf.save()
    with pytest.raises(BadInput, match="encrypted PDF") as caught:
        _describe(path)
    assert caught.value.verdict == "unsupported"


def test_pdf_over_the_page_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.pdf"
    blank = Image.new("L", (200, 280), 255)
    blank.save(path, save_all=True, append_images=[blank] * 4)
    with pytest.raises(BadInput, match="5 pages, more than the limit of 3"):
        _describe(path, ExtractOptions(max_pages=3))


@pytest.mark.parametrize("content", [b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog",
                                     b"%PDF-" + bytes(500)])
def test_broken_pdf_is_invalid(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(content)
    with pytest.raises(BadInput) as caught:
        describe_document(path, PDF_MIME, OPTIONS)
    assert caught.value.verdict == "invalid"


def test_latin1_text_is_decoded(tmp_path: Path) -> None:
    text = ("Réunion du comité des fêtes : le café sera servi à dix heures.\n"
            "Merci à Hélène pour les crêpes et à François pour la musique.\n")
    path = tmp_path / "notes.txt"
    path.write_bytes(text.encode("latin-1"))
    result = _describe(path)
    assert result.text == text.strip()
    assert result.details["encoding"] in ("latin_1", "iso8859_15", "cp1252")
    assert result.thumbnail is None


def test_utf16_text_with_bom_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_bytes("Zoë's order: 3 × cake\r\n".encode("utf-16"))
    assert describe_document(path, "text/plain", OPTIONS).text == "Zoë's order: 3 × cake"


@pytest.mark.parametrize("content", [bytes(range(256)) * 8, bytes(4096)])
def test_binary_data_is_not_text(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "blob.txt"
    path.write_bytes(content)
    with pytest.raises(BadInput, match="not text"):
        describe_document(path, "text/plain", OPTIONS)


def test_docx_in_document_order(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("Parish newsletter", level=1)
    document.add_paragraph("The fete raised four hundred pounds.")
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Stall", "Takings"), ("Cakes", "£120")], strict=True):
        for cell, value in zip(row.cells, cells, strict=True):
            cell.text = value
    document.add_paragraph("Thanks to every volunteer.", style="List Bullet")
    path = tmp_path / "newsletter.docx"
    document.save(str(path))
    result = _describe(path)
    assert result.text == ("Parish newsletter\nThe fete raised four hundred pounds.\n"
                           "Stall\tTakings\nCakes\t£120\nThanks to every volunteer.")
    assert result.details["pages"] == 1
    assert result.description.startswith("Word document, 1 page, 16 words: Parish newsletter")


def test_damaged_docx_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "damaged.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types")  # cut-off XML, no document part
    with pytest.raises(BadInput, match="Word document") as caught:
        describe_document(path, DOCX_MIME, OPTIONS)
    assert caught.value.verdict == "invalid"


def test_empty_and_unsupported_files(tmp_path: Path) -> None:
    empty = tmp_path / "upload.pdf"
    empty.touch()
    with pytest.raises(BadInput, match="empty"):
        _describe(empty)
    drawing = tmp_path / "clip.mp4"
    drawing.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    with pytest.raises(BadInput) as caught:
        describe_document(drawing, "video/mp4", OPTIONS)
    assert caught.value.verdict == "unsupported"


def test_truncated_page_image_is_invalid(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    _page().save(buffer, format="PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(BadInput, match="truncated"):
        describe_document(path, "image/png", OPTIONS)
