"""HEIC/AVIF photos with their EXIF, animations' length, multi-page TIFF stacks: on pictures
made here (pillow-heif writes HEIC, Pillow the rest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from fileproc_dagster.describe import describe
from fileproc_dagster.describe.detect import detect
from fileproc_dagster.describe.model import ExtractOptions, FileKind
from fileproc_dagster.errors import BadInput

OPTIONS = ExtractOptions(image_tags=False)
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Apple", "iPhone 13"
    exif.get_ifd(0x8769)[0x9003] = "2023:05:04 10:11:12"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (51.0, 30.0, 0.0), "W", (0.0, 7.0, 30.0)
    return exif


def _photo() -> Image.Image:
    image = Image.new("RGB", (640, 480), (30, 120, 200))
    ImageDraw.Draw(image).ellipse((100, 100, 400, 400), fill=(240, 200, 20))
    return image


@pytest.mark.parametrize("suffix, fmt, mime", [(".heic", "HEIF", "image/heic"),
                                               (".avif", "AVIF", "image/avif")])
def test_phone_photo_formats_keep_their_exif(tmp_path: Path, suffix: str, fmt: str,
                                             mime: str) -> None:
    path = tmp_path / f"IMG_0001{suffix}"
    if suffix == ".heic":
        import pillow_heif

        pillow_heif.from_pillow(_photo()).save(path, exif=_exif().tobytes(), quality=80)
    else:
        _photo().save(path, exif=_exif().tobytes(), quality=60)
    detection = detect(path, OPTIONS)
    assert (detection.kind, detection.mime) == (FileKind.IMAGE, mime)
    result = describe(path, detection, OPTIONS)
    details = result.details
    assert (details["format"], details["width"], details["height"]) == (fmt, 640, 480)
    assert details["exif"]["Make"] == "Apple" and details["exif"]["Model"] == "iPhone 13"
    assert details["exif"]["DateTimeOriginal"] == "2023:05:04 10:11:12"
    assert (details["exif"]["GPSLatitude"], details["exif"]["GPSLongitude"]) == (51.5, -0.125)
    assert result.description.startswith(f"{fmt} photo 640x480, Apple iPhone 13, 2023-05-04")
    assert result.thumbnail


def test_truncated_heic_is_bad_input(tmp_path: Path) -> None:
    import pillow_heif

    path = tmp_path / "cut.heic"
    pillow_heif.from_pillow(_photo()).save(path, quality=80)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(BadInput) as caught:
        describe(path, detect(path, OPTIONS), OPTIONS)
    assert caught.value.verdict == "invalid"


@pytest.mark.parametrize("suffix", [".gif", ".webp"])
def test_animation_reports_frames_and_length(tmp_path: Path, suffix: str) -> None:
    frames = [Image.new("RGB", (120, 90), (40 * i, 100, 200 - 30 * i)) for i in range(6)]
    path = tmp_path / f"spinner{suffix}"
    frames[0].save(path, save_all=True, append_images=frames[1:],
                   duration=[100, 100, 100, 100, 100, 300], loop=0)
    result = describe(path, detect(path, OPTIONS), OPTIONS)
    details = result.details
    assert details["animated"] and details["n_frames"] == 6
    assert (details["frame_duration_ms"], details["duration_ms"], details["loop"]) == (
        100, 800, 0)
    assert (details["width"], details["height"]) == (120, 90)
    assert "animation 120x90 (6 frames, 0.8 s)" in result.description


def test_tiff_stack_of_short_pages_is_read_page_by_page(tmp_path: Path) -> None:
    font = ImageFont.truetype(FONT, 60)
    pages = []
    for n, words in enumerate(["Minutes of the board", "Budget for spring",
                               "Signed by the chair", "Annex with figures"], start=1):
        page = Image.new("L", (1240, 1754), 255)
        ImageDraw.Draw(page).text((150, 300), f"{words}\nPage {n}", font=font, fill=0)
        pages.append(page)
    path = tmp_path / "stack.tif"
    pages[0].save(path, save_all=True, append_images=pages[1:], compression="tiff_lzw")
    detection = detect(path, OPTIONS)
    assert detection.kind is FileKind.DOCUMENT and "scanned pages" in detection.reason
    result = describe(path, detection, OPTIONS)
    assert result.details["pages"] == 4
    for words in ("Minutes of the board", "Budget for spring", "Annex with figures"):
        assert words in result.text
