"""Image facts, EXIF, text in the picture and thumbnails, exact against the corpus manifest."""

from __future__ import annotations

import io
import json
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from fileproc_dagster.describe.images.describe import describe_image
from fileproc_dagster.describe.model import Description, ExtractOptions
from fileproc_dagster.errors import BadInput

OPTIONS = ExtractOptions()
_CORPUS = Path(os.environ.get("FILEPROC_CORPUS", Path(__file__).resolve().parents[2]
                              / "shared" / "corpus"))
_FACTS = ("width", "height", "format", "mode", "has_alpha", "n_frames", "animated",
          "display_width", "display_height")
_NO_TEXT = ["IMG_20180619_135726.jpg", "DSC7831.JPG", "chelsea_5332.png", "sticker_8684.png",
            "animation_2091.gif", "DSC_7750_large.jpg", "pixel.png", "moon_scan.bmp",
            "a;rm -rf x$(id).png", "photo_1745.webp"]


def _image_names() -> list[str]:
    manifest = _CORPUS / "manifest.json"
    if not manifest.is_file():
        return ["<corpus missing>"]
    files = json.loads(manifest.read_text())["files"]
    return [f["name"] for f in files if f["group"] == "image" or f["acceptable_types"] == ["image"]]


_cache: dict[Path, Description] = {}


def _describe(path: Path) -> Description:
    """Describe each corpus picture once per session; several tests look at the same result."""
    if path not in _cache:
        _cache[path] = describe_image(path, OPTIONS)
    return _cache[path]


@pytest.mark.corpus
@pytest.mark.parametrize("name", _image_names())
def test_facts_match_manifest(name: str, corpus: Path,
                              manifest: dict[str, dict[str, Any]]) -> None:
    expected = manifest[name]["expected"]
    result = _describe(corpus / name)
    details = result.details
    json.dumps(details)  # everything must be storable as JSON
    for key in _FACTS:
        if key in expected:
            assert details[key] == expected[key], key
    for got, want in zip(details["mean_rgb"], expected["mean_rgb"], strict=True):
        assert abs(got - want) <= 1.0, (details["mean_rgb"], expected["mean_rgb"])
    assert details["dominant_colors"] and all(c["hex"].startswith("#")
                                              for c in details["dominant_colors"])
    for key, want in expected["exif"].items():
        got = details["exif"].get(key)
        if key in ("GPSLatitude", "GPSLongitude"):
            assert got is not None and abs(got - want) <= 1e-5, key
        else:
            assert got == want, key
    if not expected["exif"]:
        assert not any(k in details["exif"] for k in ("Make", "Model", "GPSLatitude"))
    assert result.description.startswith(f"{expected['format']} ")


@pytest.mark.corpus
@pytest.mark.parametrize("name", _image_names())
def test_thumbnail_is_small_upright_png(name: str, corpus: Path,
                                        manifest: dict[str, dict[str, Any]]) -> None:
    expected = manifest[name]["expected"]
    result = _describe(corpus / name)
    assert result.thumbnail is not None
    thumb = Image.open(io.BytesIO(result.thumbnail))
    assert thumb.format == "PNG" and max(thumb.size) <= 256
    display = (expected.get("display_width", expected["width"]),
               expected.get("display_height", expected["height"]))
    if min(display) >= 100:  # orientation applied: same landscape/portrait as displayed
        assert (thumb.width >= thumb.height) == (display[0] >= display[1])


@pytest.mark.corpus
def test_sign_text_is_read(corpus: Path) -> None:
    result = _describe(corpus / "street_9081.jpg")
    assert "STAFF ONLY" in " ".join(result.text.split())
    assert "STAFF ONLY" in result.description


@pytest.mark.corpus
@pytest.mark.parametrize("name", _NO_TEXT)
def test_photos_without_text_give_no_text(name: str, corpus: Path) -> None:
    assert _describe(corpus / name).text == ""


@pytest.mark.corpus
def test_photo_description_line(corpus: Path) -> None:
    line = _describe(corpus / "IMG_20180619_135726.jpg").description
    assert line == ("JPEG photo 600x400, Google Pixel 7, 2018-06-19 13:57, "
                    "GPS 53.96344,-1.08349; tags: espresso")


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["thumbnail_2305.png", "holiday_7692.png"])
def test_bombs_and_truncated_pictures_are_refused(name: str, corpus: Path) -> None:
    with pytest.raises(BadInput) as caught:
        describe_image(corpus / name, OPTIONS)
    assert caught.value.verdict == "invalid"


# ---- pictures made here, so the extractor is covered without the corpus ----

def test_made_png_facts_and_rgba_mean(tmp_path: Path) -> None:
    image = Image.new("RGBA", (300, 200), (200, 100, 50, 255))
    image.paste((0, 0, 0, 0), (0, 0, 150, 200))  # left half fully transparent black
    path = tmp_path / "made.png"
    image.save(path)
    result = describe_image(path, OPTIONS)
    details = result.details
    assert (details["width"], details["height"], details["format"]) == (300, 200, "PNG")
    assert details["has_alpha"] and details["mode"] == "RGBA" and details["n_frames"] == 1
    assert details["mean_rgb"] == [100.0, 50.0, 25.0]  # alpha ignored, as in the manifest
    assert details["dominant_colors"][0]["hex"] == "#c86432"  # transparent pixels left out
    assert details["exif"] == {} and result.text == ""


def test_exif_gps_south_west_and_orientation(tmp_path: Path) -> None:
    image = Image.new("RGB", (120, 80), (30, 90, 160))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Nikon", "Z 6", 8
    exif.get_ifd(0x8769)[0x9003] = "2021:03:04 05:06:07"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "S", 2: (33.0, 51.0, 54.0), 3: "W", 4: (70.0, 30.0, 0.0), 5: b"\x01",
                6: 12.5})
    path = tmp_path / "made.jpg"
    image.save(path, exif=exif, quality=95)
    details = describe_image(path, OPTIONS).details
    assert details["exif"]["GPSLatitude"] == pytest.approx(-33.865, abs=1e-6)
    assert details["exif"]["GPSLongitude"] == pytest.approx(-70.5, abs=1e-6)
    assert details["exif"]["GPSAltitude"] == -12.5
    assert details["exif"]["DateTimeOriginal"] == "2021:03:04 05:06:07"
    assert (details["display_width"], details["display_height"]) == (80, 120)


def test_made_bomb_is_refused(tmp_path: Path) -> None:
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="PNG")
    data = bytearray(out.getvalue())
    ihdr = struct.pack(">II", 60_000, 60_000) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    path = tmp_path / "bomb.png"
    path.write_bytes(bytes(data))
    with pytest.raises(BadInput, match="decompression bomb"):
        describe_image(path, OPTIONS)
