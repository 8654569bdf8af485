"""Audio transcription: corpus accuracy, silence/music, bad input, and both whisper backends."""

from __future__ import annotations

import dataclasses
import itertools
import re
import shutil
import socket
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from fileproc_dagster.describe.audio.describe import describe_audio, load_transcriber
from fileproc_dagster.describe.model import ExtractOptions
from fileproc_dagster.errors import BadInput

DEFAULT = ExtractOptions()

# WER ceiling per speech file of the corpus (spoken=True). The packaged tiny.en reaches
# 0.04-0.16 on all of them, the 10 dB street noise and the 2-minute lecture included.
SPEECH = {
    "recording_4960.wav": 0.20,
    "voicemail_3591.mp3": 0.20,
    "announcement_6539.ogg": 0.20,
    "tip_6727.flac": 0.20,
    "voice_note_9970.m4a": 0.20,
    "street_interview_7020.wav": 0.20,
    "lecture_3740.mp3": 0.20,
}
NO_SPEECH = ["silence_2564.wav", "jingle_8251.ogg"]
SENTENCE = (
    "Please remember to bring your notebook to the meeting tomorrow morning. "
    "The garden behind the library is closed for repairs this week."
)


@pytest.fixture(scope="module", autouse=True)
def offline() -> Iterator[None]:
    """Any attempt to reach the network (a model download) fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket, "create_connection", refuse)
        yield


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]", " ", text.lower()).split()


def _wer(expected: str, got: str) -> float:
    """Word error rate without the corpus scorer, for the self-made clips."""
    ref, hyp = _words(expected), _words(got)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))


def _check_shape(details: dict[str, Any], duration: float) -> None:
    assert abs(details["duration_s"] - duration) <= 0.5
    assert details["language"] == "en"
    starts = [s["start"] for s in details["segments"]]
    assert starts == sorted(starts)
    for s in details["segments"]:
        assert 0 <= s["start"] <= s["end"] <= details["duration_s"] + 0.1
        assert s["text"].strip()


def test_manifest_audio_is_covered(manifest: dict[str, dict[str, Any]]) -> None:
    audio = {n for n, e in manifest.items() if e["group"] == "audio"}
    assert audio == set(SPEECH) | set(NO_SPEECH)


@pytest.mark.corpus
@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n.startswith("lecture") else n for n in SPEECH],
)
def test_speech_is_transcribed(
    name: str, corpus: Path, manifest: dict[str, dict[str, Any]], scorer: ModuleType
) -> None:
    entry = manifest[name]
    result = describe_audio(corpus / name, DEFAULT)
    wer = scorer.score(entry["expected_text"], result.text, spoken=True)["wer"]
    assert wer <= SPEECH[name], f"{name}: WER {wer:.3f} > {SPEECH[name]}: {result.text!r}"
    details = result.details
    _check_shape(details, entry["expected"]["duration_s"])
    assert details["backend"] == "faster-whisper" and details["model"] == "tiny.en"
    assert result.description.startswith(f"Audio {details['duration_s']:.1f} s, en, ")
    # Whisper reads 30 s windows: the segments must cover the whole file without holes.
    segments = details["segments"]
    gaps = [b["start"] - a["end"] for a, b in itertools.pairwise(segments)]
    assert max(gaps, default=0.0) < 2.0
    assert segments[0]["start"] < 1.5 and segments[-1]["end"] > details["duration_s"] - 2.0


@pytest.mark.corpus
@pytest.mark.parametrize("name", NO_SPEECH)
def test_no_speech_gives_empty_transcript(
    name: str, corpus: Path, manifest: dict[str, dict[str, Any]]
) -> None:
    result = describe_audio(corpus / name, DEFAULT)
    assert result.text == ""
    assert result.details["segments"] == []
    _check_shape(result.details, manifest[name]["expected"]["duration_s"])
    assert result.description == f"Audio {result.details['duration_s']:.1f} s, no speech detected"


@pytest.mark.corpus
def test_corrupt_header_is_bad_input(corpus: Path) -> None:
    with pytest.raises(BadInput, match="cannot be decoded") as caught:
        describe_audio(corpus / "message_6172.wav", DEFAULT)
    assert caught.value.verdict == "invalid"


@pytest.mark.corpus
def test_video_without_audio_is_unsupported(corpus: Path) -> None:
    with pytest.raises(BadInput, match="no audio stream") as caught:
        describe_audio(corpus / "clip_9640.mp4", DEFAULT)
    assert caught.value.verdict == "unsupported"


@pytest.fixture(scope="module")
def spoken_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SENTENCE spoken by espeak-ng into a WAV file."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    path = tmp_path_factory.mktemp("speech") / "sentence.wav"
    # A calm US voice, like the corpus's: tiny.en stumbles on espeak's default 175 wpm.
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), SENTENCE],
        check=True,
        timeout=60,
    )
    return path


def test_self_made_clip_is_transcribed(spoken_clip: Path) -> None:
    result = describe_audio(spoken_clip, DEFAULT)
    assert _wer(SENTENCE, result.text) <= 0.3, result.text
    assert result.details["segments"] and result.details["language"] == "en"
    assert result.details["language_detected"] is False  # tiny.en is English-only
    assert 3.0 < result.details["duration_s"] < 15.0


def test_zero_length_wav_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
    with pytest.raises(BadInput, match="empty"):
        describe_audio(path, DEFAULT)


def test_garbage_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp3"
    path.write_bytes(b"\x00not audio at all\xff" * 100)
    with pytest.raises(BadInput):
        describe_audio(path, DEFAULT)


def test_model_is_loaded_once() -> None:
    assert load_transcriber() is load_transcriber("faster-whisper", "")


def test_unknown_backend_and_missing_models_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown whisper backend"):
        load_transcriber("vosk")
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        load_transcriber("faster-whisper", str(tmp_path / "no-such-model"))


def _one_word_checkpoint(path: Path) -> None:
    """A tiny whisper whose decoder, set by hand, always says " hello" once.

    Random weights would do for loading, but their transcripts fail whisper's quality checks
    and fall back through every sampling temperature, which takes minutes. Here the decoder
    blocks are zeroed so its output depends on the position alone: a timestamp, the word, the
    end of text.
    """
    import torch
    import whisper
    from whisper.model import ModelDimensions, Whisper

    dims = ModelDimensions(
        n_mels=80,
        n_audio_ctx=1500,
        n_audio_state=64,
        n_audio_head=1,
        n_audio_layer=1,
        n_vocab=51864,
        n_text_ctx=448,
        n_text_state=64,
        n_text_head=1,
        n_text_layer=1,
    )
    torch.manual_seed(0)
    model = Whisper(dims)
    tokenizer = whisper.tokenizer.get_tokenizer(multilingual=False)
    decoder = model.decoder
    with torch.no_grad():
        for block in decoder.blocks:
            for linear in (block.attn.out, block.cross_attn.out, block.mlp[2]):
                linear.weight.zero_()
                linear.bias.zero_()
        decoder.positional_embedding.zero_()
        decoder.token_embedding.weight.zero_()
        sequence = [tokenizer.timestamp_begin, tokenizer.encode(" hello")[0], tokenizer.eot]
        for position, token in enumerate(sequence):
            direction = torch.zeros(dims.n_text_state)
            direction[2 * position], direction[2 * position + 1] = 1.0, -1.0
            decoder.positional_embedding[position] = 100 * direction
            decoder.token_embedding.weight[token] = 3 * direction
    torch.save({"dims": dataclasses.asdict(dims), "model_state_dict": model.state_dict()}, path)


@pytest.mark.openai_whisper
def test_openai_whisper_backend_loads_a_checkpoint(openai_whisper: ModuleType, spoken_clip: Path,
                                                   tmp_path: Path) -> None:
    checkpoint = tmp_path / "hello-tiny.pt"
    _one_word_checkpoint(checkpoint)
    options = ExtractOptions(whisper_backend="openai-whisper", whisper_model=str(checkpoint))
    result = describe_audio(spoken_clip, options)
    details = result.details
    assert details["backend"] == "openai-whisper" and details["model"] == "hello-tiny"
    _check_shape(details, details["duration_s"])
    assert 3.0 < details["duration_s"] < 15.0
    assert [s["text"] for s in details["segments"]] == ["hello"]
    assert details["language_detected"] is False  # an English-only vocabulary
    assert result.text == "hello"
    assert result.description.endswith(", en, 1 word: hello")


@pytest.mark.openai_whisper
def test_openai_whisper_never_downloads(openai_whisper: ModuleType, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        load_transcriber("openai-whisper", "tiny.en")
    with pytest.raises(FileNotFoundError, match="not found"):
        load_transcriber("openai-whisper", str(tmp_path / "missing.pt"))
