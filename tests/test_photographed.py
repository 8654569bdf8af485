"""Phone photos of a printed page: detected as documents and read, whatever the lighting.

Each photo is made here from a page set in a real font: light falling off to one side (or a
corner), blur, a small picture, noise and JPEG, straight on. Before the page check evened out
the lighting, most of these were taken for photos with a line or two of text.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fileproc_dagster.describe.detect import detect
from fileproc_dagster.describe.documents.describe import describe_document
from fileproc_dagster.describe.model import ExtractOptions, FileKind
from fileproc_dagster.describe.ocr.cleanup import line_pitch, prepare_page
from support.pages import MINUTES, photograph, render_page, word_accuracy

OPTIONS = ExtractOptions()
TARGET = 0.90  # word accuracy on a photographed page a person can read

# (id, font size in pt, photo's long side in px, light left at the dark edge, blur px, corner)
PHOTOS = [
    ("dark-left-1000px", 11.0, 1000, 0.30, 1.0, False),
    ("dark-left-900px", 11.0, 900, 0.30, 1.0, False),
    ("dark-corner-1200px-soft", 11.0, 1200, 0.25, 1.2, True),
    ("dark-corner-1400px-soft", 11.0, 1400, 0.30, 1.2, True),
    ("small-print-8pt-1300px", 8.0, 1300, 0.30, 1.0, False),
    ("even-light-800px", 11.0, 800, 1.00, 0.8, False),
]


@cache
def _page(points: float) -> tuple[Image.Image, str]:
    page, lines = render_page(MINUTES, points=points)
    return page, "\n".join(lines)


@pytest.mark.parametrize(("points", "long_side", "dark", "blur", "corner"),
                         [pytest.param(*case[1:], id=case[0]) for case in PHOTOS])
def test_photographed_page_is_a_document_read_well(
    tmp_path: Path, points: float, long_side: int, dark: float, blur: float, corner: bool,
) -> None:
    page, expected = _page(points)
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(photograph(page, long_side=long_side, dark=dark, blur=blur, corner=corner))
    detection = detect(path, OPTIONS)
    assert detection.kind is FileKind.DOCUMENT, detection.reason
    result = describe_document(path, detection.mime, OPTIONS)
    accuracy = word_accuracy(expected, result.text)
    print(f"{path.name} {long_side}px: accuracy {accuracy:.3f}")
    assert accuracy >= TARGET, result.text


def test_uneven_light_is_divided_out_before_reading() -> None:
    page, _ = _page(11.0)
    photo = photograph(page, long_side=1000, dark=0.25, blur=1.0)
    grey = np.asarray(Image.open(io.BytesIO(photo)).convert("L"))
    flat, _scale = prepare_page(grey, 40_000_000)

    def paper(image: np.ndarray) -> tuple[float, float]:  # blank paper below the text
        h, w = image.shape
        bottom = image[int(h * 0.8):int(h * 0.95)]
        return (float(bottom[:, int(w * 0.05):int(w * 0.15)].mean()),
                float(bottom[:, int(w * 0.85):int(w * 0.95)].mean()))

    dark_side, bright_side = paper(grey)
    assert bright_side - dark_side > 100
    dark_side, bright_side = paper(flat)  # the same white on both sides once evened out
    assert abs(bright_side - dark_side) < 15 and dark_side > 200


@pytest.mark.parametrize(("long_side", "expect_scale"), [(900, True), (3508, False)])
def test_only_small_text_is_enlarged(long_side: int, expect_scale: bool) -> None:
    page, _ = _page(11.0)
    small = page.resize((round(page.width * long_side / page.height), long_side),
                        Image.Resampling.LANCZOS)
    grey = np.asarray(small)
    pitch = line_pitch(grey)
    assert pitch is not None
    # 11 pt (46 px) at 1.45 leading: lines 67 px apart at 300 dpi, 17 px in a 900 px photo.
    expected = 67 * long_side / 3508
    assert abs(pitch - expected) <= 1 + 0.03 * expected
    _, scale = prepare_page(grey, 40_000_000)
    assert (scale > 1.0) is expect_scale


def test_photo_without_text_has_no_line_pitch() -> None:
    rng = np.random.default_rng(1)
    landscape = (np.linspace(60, 200, 800)[:, None] + rng.normal(0, 25, (800, 1200)))
    assert line_pitch(landscape.clip(0, 255).astype(np.uint8)) is None
