"""The content check behind detecting audio: does it decode, and is it not a video?"""

from __future__ import annotations

from pathlib import Path

import av

from fileproc_dagster.describe.model import Detection, ExtractOptions, FileKind
from fileproc_dagster.errors import BadInput

_AUDIO_PROBE_PACKETS = 200


def probe_audio(path: Path, mime: str, options: ExtractOptions | None = None) -> Detection:
    """Audio must have a stream that decodes and lasts; a file with pictures is a video."""
    try:
        # A file object, not a name: ffmpeg would read "proto:..." names as URLs.
        with path.open("rb") as fh, av.open(fh, "r", metadata_errors="ignore") as container:
            video = [s for s in container.streams.video
                     if not s.disposition & av.stream.Disposition.attached_pic]
            audio = list(container.streams.audio)
            if video:
                from fileproc_dagster.describe.video.probe import probe_video

                return probe_video(path, mime, options or ExtractOptions())
            if not audio:
                raise BadInput("no audio stream in the file")
            stream = audio[0]
            samples = _decoded_samples(container, stream)
            duration = _duration(container, stream)
            fmt = container.format.name.split(",")[0]
            codec = stream.codec_context.name.removesuffix("float")  # ffmpeg's "mp3float"
            rate = stream.codec_context.sample_rate
    except av.FFmpegError as exc:
        # Only ffmpeg's reason: its message also carries the path, which is ours, not the user's.
        raise BadInput(f"audio does not decode: {exc.strerror or type(exc).__name__}") from exc
    if samples == 0:
        raise BadInput("audio does not decode: no samples in the first packets")
    if not duration or duration <= 0:
        raise BadInput("audio has no duration")
    kind_mime = mime if mime.startswith("audio/") else "audio/" + mime.split("/")[-1]
    return Detection(FileKind.AUDIO, kind_mime,
                     f"{fmt} audio ({codec}), {rate} Hz, {duration:.1f} s")


def _decoded_samples(container: av.container.InputContainer, stream: av.AudioStream) -> int:
    samples = 0
    for count, packet in enumerate(container.demux(stream)):
        for frame in packet.decode():
            samples += frame.samples
        if samples or count >= _AUDIO_PROBE_PACKETS:
            break
    return samples


def _duration(container: av.container.InputContainer, stream: av.AudioStream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None
