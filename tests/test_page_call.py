"""The page/photo call made from what is read, and pages read no worse than plain tesseract.

The fax and the small capture are the two real-world failures the call by pixel statistics
made: a 1-bit form in small type and a book page captured under 400 px wide were both kept
as photos. Each is compared with ``tesseract FILE -`` on the same file, in the same run.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import Image

from fileproc_dagster.describe.detect import detect
from fileproc_dagster.describe.documents.describe import describe_document
from fileproc_dagster.describe.images.page_call import call_page
from fileproc_dagster.describe.model import ExtractOptions, FileKind
from fileproc_dagster.describe.ocr.evidence import Evidence
from support.hard_pages import fax_form, small_capture
from support.pages import MINUTES, photograph, render_page, word_accuracy

OPTIONS = ExtractOptions(image_tags=False)
NO_WORSE = 0.02  # word accuracy below plain tesseract's that still counts as no worse


def _plain_tesseract(path: Path) -> str:
    return subprocess.run(["tesseract", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def _read_as_document(path: Path) -> str:
    detection = detect(path, OPTIONS)
    assert detection.kind is FileKind.DOCUMENT, detection.reason
    return describe_document(path, detection.mime, OPTIONS).text


def test_fax_form_in_small_type_is_a_document_read_as_well_as_tesseract(
    tmp_path: Path,
) -> None:
    path, expected = fax_form(tmp_path / "form.tif", points=7.0)
    with Image.open(path) as image:
        assert (image.mode, image.info["compression"]) == ("1", "group4")
    ours = word_accuracy(expected, _read_as_document(path))
    plain = word_accuracy(expected, _plain_tesseract(path))
    print(f"fax form: ours {ours:.3f}, tesseract {plain:.3f}")
    assert ours >= plain - NO_WORSE
    assert ours >= 0.95


@pytest.mark.parametrize("width", [300, 380])
def test_small_page_capture_is_a_document_read_at_least_as_well_as_tesseract(
    tmp_path: Path, width: int,
) -> None:
    path, expected = small_capture(tmp_path / "capture.png", width=width)
    with Image.open(path) as image:
        assert image.mode == "L" and image.width < 400
    ours = word_accuracy(expected, _read_as_document(path))
    plain = word_accuracy(expected, _plain_tesseract(path))
    print(f"{width} px capture: ours {ours:.3f}, tesseract {plain:.3f}")
    assert ours >= plain - NO_WORSE
    assert ours >= 0.90


def test_page_photographed_at_an_angle_is_a_document(tmp_path: Path) -> None:
    page, lines = render_page(MINUTES)
    turned = page.rotate(7, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    path = tmp_path / "IMG_0002.jpg"
    path.write_bytes(photograph(turned, long_side=1400, dark=0.5, blur=1.0))
    assert word_accuracy("\n".join(lines), _read_as_document(path)) >= 0.90


def test_photo_with_a_sign_stays_a_photo_with_its_text(corpus: Path) -> None:
    from fileproc_dagster.describe.images.describe import describe_image

    path = corpus / "street_9081.jpg"
    detection = detect(path, OPTIONS)
    assert detection.kind is FileKind.IMAGE, detection.reason
    assert "STAFF ONLY" in describe_image(path, OPTIONS).text


def test_call_rests_on_the_reading() -> None:
    sign = Evidence(confident_words=2, lines=1, line_area=20_000, area=1_000_000)
    assert not call_page(sign).document
    assert "2 confident words on 1 line" in call_page(sign).why
    assert not call_page(Evidence(0, 0, 0, 1_000_000, bilevel=True)).document
    fax = Evidence(confident_words=4, lines=1, line_area=30_000, area=3_000_000, bilevel=True)
    assert call_page(fax).document
    page = Evidence(confident_words=40, lines=8, line_area=400_000, area=1_000_000)
    assert call_page(page).document
    card = Evidence(confident_words=12, lines=5, line_area=300_000, area=1_000_000)
    assert call_page(card).document
    poster_words = Evidence(confident_words=25, lines=2, line_area=50_000, area=1_000_000)
    assert not call_page(poster_words).document
