"""Media made by others (tests/realworld/media, see sources.json): facts checked against what
ffprobe and the files' own projects say about them, hostile ones refused with their reason."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from fileproc_dagster.describe import describe
from fileproc_dagster.describe.detect import detect
from fileproc_dagster.describe.model import ExtractOptions, FileKind
from fileproc_dagster.errors import BadInput

MEDIA = Path(__file__).parent / "realworld" / "media"
OPTIONS = ExtractOptions()


def test_sources_name_every_file() -> None:
    sources = json.loads((MEDIA / "sources.json").read_text())
    listed = {row["file"] for row in sources}
    assert listed == {p.name for p in MEDIA.iterdir() if p.name != "sources.json"}
    for row in sources:
        data = (MEDIA / row["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256"], row["file"]
        assert len(data) < 1_000_000 and row["licence"] and row["origin"].startswith("https://")
    assert {row["file"] for row in sources if row.get("damaged")} == set(DAMAGED)


@pytest.mark.parametrize("name, facts", [
    # ffprobe: h264 1920x1080 24000/1001 fps, 0.96 s, aac 48 kHz stereo; a deer by a hedge.
    ("pymediainfo_sample.mp4", {"codec": "h264", "width": 1920, "height": 1080,
                                "frame_rate": 23.976, "audio": "aac"}),
    # ffprobe: mpeg4 190x240 30 fps, 4.97 s, aac; the QuickTime logo.
    ("hachoir_quicktime.mp4", {"codec": "mpeg4", "width": 190, "height": 240,
                               "frame_rate": 30.0, "audio": "aac"}),
    # ffprobe: hevc 720x480 30000/1001 fps, no sound.
    ("puremagic_test.mkv", {"codec": "hevc", "width": 720, "height": 480,
                            "frame_rate": 29.97, "audio": None}),
    # ffprobe: h264 384x288 at 1 fps for 600 s, no sound: keyframes spread over ten minutes.
    ("hachoir_10min.mkv", {"codec": "h264", "width": 384, "height": 288, "frame_rate": 1.0,
                           "audio": None}),
])
def test_real_videos_are_described(name: str, facts: dict[str, object]) -> None:
    path = MEDIA / name
    detection = detect(path, OPTIONS)
    assert detection.kind is FileKind.VIDEO
    result = describe(path, detection, OPTIONS)
    details = result.details
    assert {k: details[k] for k in ("codec", "width", "height", "frame_rate")} == {
        k: facts[k] for k in ("codec", "width", "height", "frame_rate")}
    assert (details["audio"] or {}).get("codec") == facts["audio"]
    assert details["keyframes"] and result.thumbnail
    assert result.text == ""  # none of them speaks
    if name == "hachoir_10min.mkv":
        assert details["duration_s"] == 600.0
        assert len(details["keyframes"]) == OPTIONS.max_keyframes
        assert details["keyframes"][-1]["time_s"] > 400
    if name == "pymediainfo_sample.mp4":
        assert "animal" in details["categories"], details["tags"]


DAMAGED = {  # file: the reason it is refused (marked "damaged" in sources.json)
    # A QuickTime movie cut after its header: ffprobe says "partial file".
    "hachoir_pentax_320x240.mov": "video stream is empty: it holds no picture data",
    # A Matroska header whose elements run past the end of the file.
    "pymediainfo_sample.mkv": r"video cannot be read \(damaged or truncated\): End of file",
}


@pytest.mark.parametrize("name, reason", sorted(DAMAGED.items()))
def test_real_damaged_videos_are_bad_input(name: str, reason: str) -> None:
    with pytest.raises(BadInput, match=reason) as caught:
        detect(MEDIA / name, OPTIONS)
    assert caught.value.verdict == "invalid"


def test_real_heic_photo() -> None:
    path = MEDIA / "imagesize_test.heic"
    detection = detect(path, OPTIONS)
    assert (detection.kind, detection.mime) == (FileKind.IMAGE, "image/heif")
    result = describe(path, detection, OPTIONS)
    assert (result.details["format"], result.details["width"], result.details["height"]) == (
        "HEIF", 1440, 960)
    assert result.thumbnail


def test_real_avif_photo_keeps_its_exif() -> None:
    path = MEDIA / "imagesize_test.avif"
    result = describe(path, detect(path, OPTIONS), OPTIONS)
    assert (result.details["format"], result.details["width"], result.details["height"]) == (
        "AVIF", 630, 420)
    assert result.details["exif"]["Copyright"] == "www.libre-software.net"


def test_real_multipage_tiff_is_read_page_by_page(
        word_accuracy: Callable[[str, str], float]) -> None:
    path = MEDIA / "imagesize_multipage.tif"
    detection = detect(path, OPTIONS)
    assert detection.kind is FileKind.DOCUMENT and "scanned pages" in detection.reason
    result = describe(path, detection, OPTIONS)
    assert result.details["pages"] == 10
    sources = json.loads((MEDIA / "sources.json").read_text())
    phrases = next(row["phrases"] for row in sources if row["file"] == path.name)
    assert len(phrases) == 10  # one a page, also scored by benchmarks.formats
    expected = "\n\n".join(phrases)
    assert word_accuracy(expected, result.text) >= 0.9, result.text
