"""Type detection from content: every corpus file, plus small inputs made on the spot."""

from __future__ import annotations

import io
import json
import os
import struct
import time
import wave
import zipfile
import zlib
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from fileproc_dagster.describe.detect import detect
from fileproc_dagster.describe.model import ExtractOptions, FileKind
from fileproc_dagster.errors import BadInput

OPTIONS = ExtractOptions()
# Corpus files refused when the corpus was made, read since (the manifest keeps its verdict).
READ_SINCE = {"clip_9640.mp4": ["video"]}  # a silent video, described by its keyframes
_CORPUS = Path(os.environ.get("FILEPROC_CORPUS", Path(__file__).resolve().parents[2]
                              / "shared" / "corpus"))


def _corpus_names() -> list[str]:
    """Names to parametrize over; one placeholder that skips (or fails in CI) if no corpus."""
    manifest = _CORPUS / "manifest.json"
    if not manifest.is_file():
        return ["<corpus missing>"]
    return [f["name"] for f in json.loads(manifest.read_text())["files"]]


def _outcome(path: Path) -> str:
    """The detected kind, or the BadInput verdict; BadInput must carry a reason."""
    try:
        return detect(path, OPTIONS).kind.value
    except BadInput as exc:
        assert exc.reason.strip()
        return exc.verdict


# The manifest was written when archives were refused; they are now opened into members.
OPENED = {"archive_4631.zip": ["archive"]}


@pytest.mark.corpus
@pytest.mark.parametrize("name", _corpus_names())
def test_corpus_file_detected_as_acceptable(
    name: str, corpus: Path, manifest: dict[str, dict[str, Any]]
) -> None:
    entry = manifest[name]
    acceptable = {**READ_SINCE, **OPENED}.get(name, entry["acceptable_types"])
    assert _outcome(corpus / name) in acceptable, entry["notes"]


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["letter_8781.png", "newsletter_5667.png", "invoice_25037.jpg"])
def test_page_check_is_quick(name: str, corpus: Path) -> None:
    started = time.monotonic()
    detection = detect(corpus / name, OPTIONS)
    assert detection.kind is FileKind.DOCUMENT
    assert "confident words" in detection.reason
    # 1.5 s on an idle machine; the margin absorbs shared CI runners.
    assert time.monotonic() - started < 5.0


@pytest.mark.corpus
def test_reasons_name_the_problem(corpus: Path) -> None:
    expectations = {"upload.pdf": "empty",
                    "thumbnail_2305.png": "decompression bomb", "holiday_7692.png": "damaged",
                    "confidential_2558.pdf": "encrypted"}
    for name, words in expectations.items():
        with pytest.raises(BadInput) as caught:
            detect(corpus / name, OPTIONS)
        assert words in caught.value.reason, name


# ---- small inputs made here, so detection is covered without the corpus ----

def _png_bytes(size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (10, 120, 200)
               ) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _expect_bad(path: Path, verdicts: tuple[str, ...]) -> BadInput:
    with pytest.raises(BadInput) as caught:
        detect(path, OPTIONS)
    assert caught.value.verdict in verdicts
    assert caught.value.reason
    return caught.value


def test_empty_file_is_invalid(tmp_path: Path) -> None:
    error = _expect_bad(_write(tmp_path, "upload.pdf", b""), ("invalid",))
    assert "empty" in error.reason


def test_random_bytes_named_pdf_are_refused(tmp_path: Path) -> None:
    noise = bytes((i * 7919 + 13) % 251 for i in range(20_000))
    _expect_bad(_write(tmp_path, "statement.pdf", noise), ("invalid", "unsupported"))


def test_small_png_is_an_image_without_ocr(tmp_path: Path) -> None:
    detection = detect(_write(tmp_path, "photo.bin", _png_bytes()), OPTIONS)
    assert detection.kind is FileKind.IMAGE
    assert detection.mime == "image/png"


def test_text_named_jpg_is_a_text_document(tmp_path: Path) -> None:
    path = _write(tmp_path, "photo.jpg", b"Meeting moved to Thursday at ten.\nBring the plans.\n")
    detection = detect(path, OPTIONS)
    assert detection.kind is FileKind.DOCUMENT
    assert detection.mime == "text/plain"
    assert "named .jpg" in detection.reason


def test_a_plain_zip_is_an_archive_but_docx_is_a_document(tmp_path: Path) -> None:
    plain = tmp_path / "bundle.zip"
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("readme.txt", "hello")
        archive.writestr("images/thumb.png", _png_bytes())
    detection = detect(plain, OPTIONS)
    assert (detection.kind, detection.mime) == (FileKind.ARCHIVE, "application/zip")
    assert detection.reason == "zip archive (2 entries)"
    docx = tmp_path / "minutes.zip"  # the name lies on purpose
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    assert detect(docx, OPTIONS).kind is FileKind.DOCUMENT


def test_tiny_wav_is_audio_and_an_empty_one_is_not(tmp_path: Path) -> None:
    path = tmp_path / "beep.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(struct.pack("<800h", *([1000, -1000] * 400)))
    detection = detect(path, OPTIONS)
    assert detection.kind is FileKind.AUDIO
    assert "0.1 s" in detection.reason
    silent = tmp_path / "nothing.wav"
    with wave.open(str(silent), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
    _expect_bad(silent, ("invalid", "unsupported"))


def test_video_without_audio_is_a_video(tmp_path: Path) -> None:
    path = tmp_path / "clip.m4a"  # named like audio on purpose
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for shade in range(0, 200, 20):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), shade, np.uint8),
                                               format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    detection = detect(path, OPTIONS)
    assert (detection.kind, detection.mime) == (FileKind.VIDEO, "video/mp4")
    assert "named .m4a" not in detection.reason  # an MP4 may hold sound or pictures
    assert detection.reason.endswith("no audio")


def test_truncated_png_is_invalid(tmp_path: Path) -> None:
    noisy = Image.effect_noise((400, 400), 60).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, format="PNG")
    data = out.getvalue()
    error = _expect_bad(_write(tmp_path, "cut.png", data[: len(data) // 3]), ("invalid",))
    assert "decode" in error.reason


def test_decompression_bomb_refused_from_header(tmp_path: Path) -> None:
    data = bytearray(_png_bytes((4, 4)))
    ihdr = struct.pack(">II", 50_000, 50_000) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    error = _expect_bad(_write(tmp_path, "thumb.png", bytes(data)), ("invalid",))
    assert "decompression bomb" in error.reason
    small_limit = ExtractOptions(max_image_pixels=1000)
    with pytest.raises(BadInput, match="decompression bomb"):
        detect(_write(tmp_path, "big.png", _png_bytes((100, 100))), small_limit)


def test_rendered_page_of_text_is_a_document(tmp_path: Path) -> None:
    page = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=30)
    sentence = "The committee agreed to repair the garden fence before the spring fair"
    for row in range(25):
        draw.text((80, 100 + row * 60), sentence, fill=0, font=font)
    detection = detect(_write(tmp_path, "scan.png", _png_bytes_of(page)), OPTIONS)
    assert detection.kind is FileKind.DOCUMENT, detection.reason


def test_html_is_a_document_whatever_its_name(tmp_path: Path) -> None:
    html = b"<!DOCTYPE html><html><head><title>Cafe</title></head><body><p>Open</p></body></html>"
    detection = detect(_write(tmp_path, "page.txt", html), OPTIONS)
    assert (detection.kind, detection.mime) == (FileKind.DOCUMENT, "text/html")
    assert "named .txt, but the content is text/html" in detection.reason


def _png_bytes_of(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


_RTF = rb"{\rtf1\ansi\deff0 {\fonttbl {\f0 Times New Roman;}}\f0\fs24 Memo: the roof is fixed.\par}"


def test_rtf_named_rtf_is_a_document_without_a_note_on_its_name(tmp_path: Path) -> None:
    detection = detect(_write(tmp_path, "memo.rtf", _RTF), OPTIONS)
    assert (detection.kind, detection.mime) == (FileKind.DOCUMENT, "text/rtf")
    assert "named" not in detection.reason  # text/rtf and application/rtf are one format


def test_rtf_named_pdf_still_says_the_name_disagrees(tmp_path: Path) -> None:
    detection = detect(_write(tmp_path, "memo.pdf", _RTF), OPTIONS)
    assert "named .pdf, but the content is text/rtf" in detection.reason
