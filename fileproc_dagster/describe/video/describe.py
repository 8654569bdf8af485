"""Video -> transcript of its sound, facts of its picture stream, keyframes with their tags.

The sound is transcribed as a recording is (whisper, offline), up to
``ExtractOptions.max_video_transcribe_s``; a few keyframes (``max_keyframes``) are decoded,
tagged as photos are and laid side by side as the preview. A silent video is described by its
keyframes alone.

Example::

    from pathlib import Path
    from fileproc_dagster.describe.model import ExtractOptions
    from fileproc_dagster.describe.video.describe import describe_video

    d = describe_video(Path("clip.mp4"), "video/mp4", ExtractOptions())
    d.description  # 'Video 0:07, 320x240 h264 25 fps, en, 16 words: The quarterly ...'
    d.details["keyframes"]  # [{'time_s': 0.0, 'tags': [...], 'categories': [...]}, ...]
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image

from fileproc_dagster.describe.audio.transcribers import SAMPLE_RATE, load_transcriber
from fileproc_dagster.describe.images.describe import thumbnail_png
from fileproc_dagster.describe.model import Description, ExtractOptions
from fileproc_dagster.describe.preview import clock
from fileproc_dagster.describe.video.keyframes import Keyframe, check_complete, data_end, keyframes
from fileproc_dagster.describe.video.probe import (
    VideoStream,
    check,
    ffmpeg_reason,
    opened,
    picture_streams,
)
from fileproc_dagster.errors import BadInput

log = logging.getLogger(__name__)

SNIPPET_CHARS = 80
SHEET_SIDE = 512  # the keyframes' contact sheet, before it is reduced to a thumbnail
MAX_TAGS = 3


def describe_video(path: Path, mime: str, options: ExtractOptions) -> Description:
    """The format registry's reader of videos."""
    with opened(path) as container:
        streams = picture_streams(container)
        if not streams:
            raise BadInput("no picture stream in the file", verdict="unsupported")
        facts = check(container, streams[0], options)
    with opened(path) as container:
        end = data_end(container, picture_streams(container)[0])
    check_complete(facts.declared_duration_s, end)
    duration = facts.declared_duration_s or end
    with opened(path) as container:
        frames = keyframes(container, picture_streams(container)[0], duration,
                           options.max_keyframes)
    if not frames:
        raise BadInput("video stream does not decode: no keyframe could be read")
    details: dict[str, Any] = {"duration_s": round(duration, 3), **facts.as_details()}
    details["display_width"], details["display_height"] = frames[0].picture.size
    details.update(_sights(frames, options))
    text, heard = "", ""
    if facts.audio_codec is not None:
        text, sound = _transcribe(path, options)
        details.update(sound)
        heard = _heard(text, sound)
    summary = (f"Video {clock(duration)}, {facts.width}x{facts.height} {facts.codec}"
               f"{f' {facts.frame_rate:g} fps' if facts.frame_rate else ''}, "
               f"{heard or 'silent'}")
    if details.get("tags"):
        summary += f"; tags: {', '.join(t['name'] for t in details['tags'])}"
    return Description(description=summary, text=text, details=details,
                       thumbnail=thumbnail_png(_sheet(frames)))


def _sights(frames: list[Keyframe], options: ExtractOptions) -> dict[str, Any]:
    """Each keyframe's time and what it shows; the video's tags: each tag's best score."""
    rows: list[dict[str, Any]] = [{"time_s": k.time_s} for k in frames]
    if not options.image_tags:
        return {"keyframes": rows}
    from fileproc_dagster.describe.images.vision import look

    best: dict[str, dict[str, Any]] = {}
    categories: list[str] = []
    faces = 0
    for row, frame in zip(rows, frames, strict=True):
        seen = look(frame.picture).as_details()
        row.update(tags=[t["name"] for t in seen["tags"]], categories=seen["categories"],
                   faces=len(seen["faces"]))
        for tag in seen["tags"]:
            if tag["score"] > best.get(tag["name"], {"score": -1.0})["score"]:
                best[tag["name"]] = tag
        categories += [c for c in seen["categories"] if c not in categories]
        faces = max(faces, len(seen["faces"]))
    tags = sorted(best.values(), key=lambda t: -t["score"])[:MAX_TAGS]
    return {"keyframes": rows, "tags": tags, "categories": categories, "faces": faces}


def _transcribe(path: Path, options: ExtractOptions) -> tuple[str, dict[str, Any]]:
    """The sound track's transcript and facts; a track that does not decode is said so."""
    try:
        audio, capped = decode_sound(path, options.max_video_transcribe_s)
    except BadInput as exc:
        log.warning("%s: %s", path.name, exc.reason)
        return "", {"audio_error": exc.reason}
    sound: dict[str, Any] = {"transcribed_s": round(audio.size / SAMPLE_RATE, 3),
                             "transcript_capped": capped}
    if audio.size < SAMPLE_RATE // 100:
        return "", sound
    transcriber = load_transcriber(options.whisper_backend, options.whisper_model)
    started = time.perf_counter()
    transcript = transcriber.transcribe(audio)
    elapsed = time.perf_counter() - started
    sound.update({
        "language": transcript.language,
        "language_probability": round(transcript.language_probability, 3),
        "language_detected": transcriber.multilingual,
        "segments": [{"start": round(s.start, 2), "end": round(s.end, 2), "text": s.text,
                      "avg_logprob": round(s.avg_logprob, 3),
                      "no_speech_prob": round(s.no_speech_prob, 3)}
                     for s in transcript.segments],
        "speech_s": round(transcript.speech_s, 2), "backend": transcriber.backend,
        "model": transcriber.model_name, "transcribe_s": round(elapsed, 2)})
    return " ".join(s.text for s in transcript.segments), sound


def decode_sound(path: Path, max_seconds: float) -> tuple[np.ndarray, bool]:
    """The first sound track as 16 kHz mono float32, at most ``max_seconds`` of it, and
    whether it was cut there; BadInput if it does not decode."""
    limit = int(max(max_seconds, 0.0) * SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    kept = 0
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    try:
        with opened(path) as container:
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    chunks.append(chunk[:limit - kept])
                    kept += chunks[-1].size
                if kept >= limit:
                    break
            else:
                chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    except av.FFmpegError as exc:
        raise BadInput(f"the sound track does not decode: {ffmpeg_reason(exc)}") from exc
    samples = np.concatenate(chunks)[:limit] if chunks else np.zeros(0, np.int16)
    return samples.astype(np.float32) / 32768.0, kept >= limit


def _heard(text: str, sound: dict[str, Any]) -> str:
    if "audio_error" in sound:
        return "sound track unreadable"
    if not text:
        return "no speech"
    snippet = " ".join(text.split())
    if len(snippet) > SNIPPET_CHARS:
        snippet = snippet[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " ..."
    words = len(text.split())
    capped = f" (first {clock(sound['transcribed_s'])})" if sound.get("transcript_capped") else ""
    return f"{sound.get('language') or 'unknown language'}, {words} words{capped}: {snippet}"


def _sheet(frames: list[Keyframe]) -> Image.Image:
    """The keyframes in a grid (one, two side by side, or two by two and so on)."""
    columns = math.ceil(math.sqrt(len(frames)))
    rows = math.ceil(len(frames) / columns)
    cell = SHEET_SIDE // columns
    pictures = []
    for frame in frames:
        picture = frame.picture.copy()
        picture.thumbnail((cell, cell), Image.Resampling.BILINEAR)
        pictures.append(picture)
    width = max(p.width for p in pictures) * columns
    height = max(p.height for p in pictures) * rows
    sheet = Image.new("RGB", (width, height), (0, 0, 0))
    for i, picture in enumerate(pictures):
        x, y = (i % columns) * (width // columns), (i // columns) * (height // rows)
        sheet.paste(picture, (x, y))
    return sheet


__all__ = ["VideoStream", "decode_sound", "describe_video"]
