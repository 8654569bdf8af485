"""Videos: detection, transcript of the sound, keyframes and their tags, caps and hostile
files (truncated, undecodable, empty stream, over the pixel limit), on clips made here."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest
from faster_whisper import decode_audio

from fileproc_dagster.describe import describe, formats
from fileproc_dagster.describe.detect import detect
from fileproc_dagster.describe.model import ExtractOptions, FileKind
from fileproc_dagster.describe.video.describe import decode_sound, describe_video
from fileproc_dagster.errors import BadInput

OPTIONS = ExtractOptions()
SENTENCE = ("The quarterly meeting starts at nine. Please bring the budget report and the new "
            "floor plans for the library.")


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=120)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spoken MP4 over a test pattern, a WebM with a tone, a silent MP4; made by ffmpeg."""
    if shutil.which("ffmpeg") is None or shutil.which("espeak-ng") is None:
        pytest.skip("ffmpeg and espeak-ng are needed to make the clips")
    folder = tmp_path_factory.mktemp("clips")
    speech = folder / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(speech), SENTENCE],
                   check=True, timeout=60)
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-i", str(speech),
            "-shortest", "-c:v", "libx264", "-g", "50", "-pix_fmt", "yuv420p", "-c:a", "aac",
            str(folder / "speech.mp4"))
    _ffmpeg("-i", str(folder / "speech.mp4"), "-c", "copy", "-movflags", "+faststart",
            str(folder / "faststart.mp4"))
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i",
            "sine=frequency=440:duration=3", "-t", "3", "-c:v", "libvpx", "-c:a", "libopus",
            str(folder / "tone.webm"))
    _ffmpeg("-f", "lavfi", "-i", "smptebars=size=160x120:rate=10", "-t", "6", "-g", "20",
            "-c:v", "mpeg4", str(folder / "silent.mov"))
    return folder


def _cut(source: Path, target: Path, share: float) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[:int(len(data) * share)])
    return target


def test_spoken_video_is_transcribed_and_described(
        clips: Path, word_accuracy: Callable[[str, str], float]) -> None:
    path = clips / "speech.mp4"
    detection = detect(path, OPTIONS)
    assert (detection.kind, detection.mime) == (FileKind.VIDEO, "video/mp4")
    assert "320x240" in detection.reason and "aac audio" in detection.reason
    result = describe(path, detection, OPTIONS)
    # The bar of the recordings' own test (tiny.en on espeak's voice: WER <= 0.3).
    assert word_accuracy(SENTENCE, result.text) >= 0.7, result.text
    details = result.details
    assert (details["width"], details["height"], details["codec"]) == (320, 240, "h264")
    assert details["frame_rate"] == 25.0
    assert 5.0 < details["duration_s"] < 10.0
    assert details["has_audio"] and details["audio"]["codec"] == "aac"
    assert details["segments"] and details["language"] == "en"
    assert details["transcript_capped"] is False
    # One keyframe every 2 s (-g 50): four samples land on distinct keyframes, in order.
    times = [k["time_s"] for k in details["keyframes"]]
    assert len(times) == OPTIONS.max_keyframes and times == sorted(times)
    assert all("tags" in k and "faces" in k for k in details["keyframes"])
    assert result.description.startswith("Video 0:0") and "h264 25 fps, en, " in result.description
    assert result.thumbnail and result.thumbnail.startswith(b"\x89PNG")


def test_sound_decodes_as_for_a_recording(clips: Path) -> None:
    """The sound track reaches whisper exactly as a recording's does (16 kHz mono)."""
    ours, capped = decode_sound(clips / "speech.mp4", 3600)
    theirs = decode_audio(str(clips / "speech.mp4"), sampling_rate=16_000)
    assert not capped and ours.shape == theirs.shape
    assert np.array_equal(ours, theirs)


def test_webm_with_a_tone_has_no_words(clips: Path) -> None:
    path = clips / "tone.webm"
    detection = detect(path, OPTIONS)
    assert (detection.kind, detection.mime) == (FileKind.VIDEO, "video/webm")
    result = describe(path, detection, OPTIONS)
    assert result.text == ""
    assert result.details["codec"] == "vp8" and result.details["audio"]["codec"] == "opus"
    assert "no speech" in result.description


def test_silent_video_is_described_by_its_keyframes(clips: Path) -> None:
    path = clips / "silent.mov"
    detection = detect(path, OPTIONS)
    assert (detection.kind, detection.mime) == (FileKind.VIDEO, "video/quicktime")
    assert detection.reason.endswith("no audio")
    result = describe(path, detection, OPTIONS)
    assert result.text == "" and "silent" in result.description
    assert result.details["has_audio"] is False and "segments" not in result.details
    assert len(result.details["keyframes"]) >= 2
    assert result.thumbnail
    assert not formats.text_expected("video", "video/quicktime")  # has_text does not warn


def test_work_is_capped(clips: Path) -> None:
    capped = replace(OPTIONS, max_video_transcribe_s=2.0, max_keyframes=2, image_tags=False)
    result = describe_video(clips / "speech.mp4", "video/mp4", capped)
    assert result.details["transcribed_s"] == 2.0
    assert result.details["transcript_capped"] is True
    assert "(first 0:02)" in result.description
    assert len(result.details["keyframes"]) == 2
    assert "tags" not in result.details  # tags off: keyframes are only shown


@pytest.mark.parametrize("name, share, reason", [
    # MP4 writes its index last: cut, the file has none and cannot be read at all.
    ("speech.mp4", 0.5, r"video cannot be read \(damaged or truncated\): Invalid data"),
    # With the index first the file opens, and its data stops early.
    ("faststart.mp4", 0.5, r"video is truncated: it declares \d+\.\d s but its picture data"
                           r" ends at \d"),
    ("tone.webm", 0.5, "video is truncated: it declares 3.0 s"),
])
def test_truncated_video_is_bad_input(clips: Path, tmp_path: Path, name: str, share: float,
                                      reason: str) -> None:
    path = _cut(clips / name, tmp_path / name, share)
    with pytest.raises(BadInput, match=reason) as caught:
        describe(path, detect(path, OPTIONS), OPTIONS)
    assert caught.value.verdict == "invalid"


def test_unknown_codec_is_unsupported(clips: Path, tmp_path: Path) -> None:
    data = (clips / "speech.mp4").read_bytes()
    at = data.index(b"avc1", data.index(b"stsd"))  # the sample entry naming the codec
    path = tmp_path / "odd.mp4"
    path.write_bytes(data[:at] + b"zzzz" + data[at + 4:])
    with pytest.raises(BadInput, match="its codec is unknown to ffmpeg") as caught:
        detect(path, OPTIONS)
    assert caught.value.verdict == "unsupported"


def test_stream_that_does_not_decode_is_bad_input(clips: Path, tmp_path: Path) -> None:
    data = (clips / "speech.mp4").read_bytes()
    at = data.index(b"mdat")
    size = int.from_bytes(data[at - 4:at], "big")
    path = tmp_path / "zeroed.mp4"
    path.write_bytes(data[:at + 4] + bytes(size - 8) + data[at - 4 + size:])
    with pytest.raises(BadInput, match="video stream does not decode"):
        detect(path, OPTIONS)


def test_zero_length_stream_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "empty.mkv"  # Matroska keeps a track that never got a frame
    with av.open(str(path), "w", format="matroska") as out:
        video = out.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        sound = out.add_stream("aac", rate=16000)
        tone = np.sin(np.arange(16000) * 2 * np.pi * 440 / 16000).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(0.2 * tone[None, :], format="fltp", layout="mono")
        frame.sample_rate = 16000
        for packet in [*sound.encode(frame), *sound.encode(None)]:
            out.mux(packet)
    with pytest.raises(BadInput, match="video stream is empty"):
        detect(path, OPTIONS)


def test_pixel_limit_applies_to_video_frames(clips: Path) -> None:
    # Checked from the header, before a frame is decoded; detection and the reader alike.
    limit = replace(OPTIONS, max_image_pixels=160 * 120 - 1)
    with pytest.raises(BadInput, match="160x120 = 19,200 pixels are over the limit of 19,199"):
        detect(clips / "silent.mov", limit)
    with pytest.raises(BadInput, match="320x240 = 76,800 pixels are over the limit"):
        describe_video(clips / "speech.mp4", "video/mp4", limit)
    assert detect(clips / "silent.mov", replace(limit, max_image_pixels=160 * 120)).kind \
        is FileKind.VIDEO


def test_sound_only_webm_is_a_recording(tmp_path: Path) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is needed to make the clip")
    path = tmp_path / "voice.webm"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:duration=2", "-c:a", "libopus", str(path))
    detection = detect(path, OPTIONS)
    assert detection.kind is FileKind.AUDIO and detection.mime.startswith("audio/")


def test_registry_knows_video() -> None:
    assert "video" in formats.kinds()
    entry = formats.for_mime("video/mp4")
    assert entry is not None and entry.kind is FileKind.VIDEO
    assert formats.for_mime("application/x-matroska", FileKind.VIDEO) is entry
    # A minute of phone video (about 2 MB/s) costs more than a second of it, within reason.
    minute = formats.expected_seconds(FileKind.VIDEO, "video/mp4", 120_000_000)
    assert formats.expected_seconds(FileKind.VIDEO, "video/mp4", 2_000_000) < minute < 15
