"""Audio -> transcript with language, duration and timed segments (whisper, offline).

>>> from fileproc_dagster.describe.model import ExtractOptions
>>> d = describe_audio(Path("note.m4a"), ExtractOptions())  # doctest: +SKIP
>>> d.description  # doctest: +SKIP
"Audio 17.5 s, en, 49 words: Let's start with the budget. We spent slightly less than ..."
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
from faster_whisper import decode_audio

from fileproc_dagster.describe.audio.transcribers import (
    SAMPLE_RATE,
    Transcript,
    load_transcriber,
)
from fileproc_dagster.describe.model import Description, ExtractOptions
from fileproc_dagster.errors import BadInput

__all__ = ["AudioStream", "decode", "describe_audio", "load_transcriber", "probe"]

log = logging.getLogger(__name__)

SNIPPET_CHARS = 80
# Shorter than one Whisper frame hop (10 ms): nothing to transcribe.
MIN_SAMPLES = SAMPLE_RATE // 100


@dataclass(frozen=True)
class AudioStream:
    """What the container says about its first audio stream."""

    container: str
    codec: str
    sample_rate: int
    channels: int
    declared_duration_s: float | None


def probe(path: Path) -> AudioStream:
    """Open the container and describe its audio stream; BadInput if there is none."""
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise BadInput(
                    f"no audio stream in the {container.format.name} container",
                    verdict="unsupported",
                )
            stream = container.streams.audio[0]
            declared = None
            if container.duration is not None:  # in AV_TIME_BASE (microsecond) units
                declared = container.duration / 1_000_000
            return AudioStream(
                container=container.format.name,
                codec=stream.codec_context.name,
                sample_rate=int(stream.codec_context.sample_rate or 0),
                channels=int(stream.codec_context.channels or 0),
                declared_duration_s=declared,
            )
    except av.error.FFmpegError as exc:
        raise BadInput(f"audio cannot be decoded: {_ffmpeg_reason(exc)}") from exc


def decode(path: Path) -> np.ndarray:
    """Decode to 16 kHz mono float32; BadInput for undecodable or empty audio."""
    try:
        audio = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    except (av.error.FFmpegError, IndexError) as exc:
        raise BadInput(f"audio cannot be decoded: {_ffmpeg_reason(exc)}") from exc
    if audio.size < MIN_SAMPLES:
        raise BadInput(f"audio is empty ({audio.size} samples after decoding)")
    return np.asarray(audio, dtype=np.float32)


def _ffmpeg_reason(exc: BaseException) -> str:
    # PyAV puts the file path after the message; the record only needs the reason.
    return str(getattr(exc, "strerror", None) or exc).split(":")[0] or type(exc).__name__


def describe_recording(path: Path, mime: str, options: ExtractOptions) -> Description:
    """The format registry's reader of recordings (every audio type reads the same way)."""
    return describe_audio(path, options)


def describe_audio(path: Path, options: ExtractOptions) -> Description:
    """Transcribe one audio file into a Description (transcript, language, timed segments)."""
    stream = probe(path)
    audio = decode(path)
    duration = audio.size / SAMPLE_RATE
    transcriber = load_transcriber(options.whisper_backend, options.whisper_model)
    started = time.perf_counter()
    transcript = transcriber.transcribe(audio)
    elapsed = time.perf_counter() - started
    log.info("transcribed %.1f s of audio in %.2f s (%s)", duration, elapsed, transcriber.backend)
    text = " ".join(s.text for s in transcript.segments)
    details: dict[str, Any] = {
        "duration_s": round(duration, 3),
        "language": transcript.language,
        "language_probability": round(transcript.language_probability, 3),
        # A multilingual model detects the language; an English-only one (tiny.en) assumes it.
        "language_detected": transcriber.multilingual,
        "segments": [
            {
                "start": round(s.start, 2),
                "end": round(s.end, 2),
                "text": s.text,
                "avg_logprob": round(s.avg_logprob, 3),
                "no_speech_prob": round(s.no_speech_prob, 3),
            }
            for s in transcript.segments
        ],
        "speech_s": round(transcript.speech_s, 2),
        "dropped_segments": transcript.dropped_segments,
        "backend": transcriber.backend,
        "model": transcriber.model_name,
        "container": stream.container,
        "codec": stream.codec,
        "sample_rate": stream.sample_rate,
        "channels": stream.channels,
        "transcribe_s": round(elapsed, 2),
    }
    if _looks_truncated(stream, duration):
        details["declared_duration_s"] = stream.declared_duration_s
        log.warning(
            "%s decodes to %.1f s but declares %.1f s",
            path.name,
            duration,
            stream.declared_duration_s,
        )
    return Description(description=_summary(duration, transcript, text), text=text, details=details)


def _looks_truncated(stream: AudioStream, duration: float) -> bool:
    declared = stream.declared_duration_s
    return declared is not None and declared - duration > max(1.0, 0.05 * declared)


def _summary(duration: float, transcript: Transcript, text: str) -> str:
    if not text:
        return f"Audio {duration:.1f} s, no speech detected"
    snippet = text
    if len(text) > SNIPPET_CHARS:
        snippet = text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " ..."
    language = transcript.language or "unknown language"
    words = len(text.split())
    return f"Audio {duration:.1f} s, {language}, {words} word{'s' * (words != 1)}: {snippet}"
