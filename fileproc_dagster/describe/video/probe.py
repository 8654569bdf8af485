"""The content check behind detecting a video: a picture stream that decodes, within limits.

A container libmagic calls video may hold only sound (a WebM or MP4 of a voice note): that is
a recording, and the audio probe decides. A cover picture attached to a song is not a video.

Example::

    from pathlib import Path
    from fileproc_dagster.describe.model import ExtractOptions
    from fileproc_dagster.describe.video.probe import probe_video

    probe_video(Path("clip.mp4"), "video/mp4", ExtractOptions())
    # Detection(kind=<FileKind.VIDEO>, mime='video/mp4', reason='mp4 video (h264) 320x240 ...')
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from fileproc_dagster.describe.model import Detection, ExtractOptions, FileKind
from fileproc_dagster.errors import BadInput

# Packets of the picture stream read for its first picture (a long group of pictures with
# B-frames needs a few dozen): past this the stream is called undecodable.
FIRST_PICTURE_PACKETS = 300
_CONTAINER_MIMES = {"application/x-matroska": "video/x-matroska", "application/mp4": "video/mp4",
                    "application/ogg": "video/ogg"}


@dataclass(frozen=True)
class VideoStream:
    """What the container says about its first picture stream, and its first audio stream."""

    container: str
    codec: str
    width: int
    height: int
    frame_rate: float | None
    declared_duration_s: float | None
    declared_frames: int
    bit_rate: int | None
    audio_codec: str | None
    audio_sample_rate: int | None
    audio_channels: int | None

    def as_details(self) -> dict[str, Any]:
        return {"container": self.container, "codec": self.codec, "width": self.width,
                "height": self.height, "frame_rate": self.frame_rate,
                "declared_frames": self.declared_frames, "bit_rate": self.bit_rate,
                "has_audio": self.audio_codec is not None,
                "audio": None if self.audio_codec is None else {
                    "codec": self.audio_codec, "sample_rate": self.audio_sample_rate,
                    "channels": self.audio_channels}}


@contextmanager
def opened(path: Path) -> Iterator[av.container.InputContainer]:
    """The container of ``path``; BadInput when ffmpeg cannot read its header or index."""
    try:
        # A file object, not a name: ffmpeg would read "proto:..." names as URLs.
        with path.open("rb") as fh, av.open(fh, "r", metadata_errors="ignore") as container:
            yield container
    except (av.FFmpegError, EOFError) as exc:
        raise BadInput(f"video cannot be read (damaged or truncated): {ffmpeg_reason(exc)}"
                       ) from exc


def ffmpeg_reason(exc: BaseException) -> str:
    """ffmpeg's reason alone: its message also carries the file's path, which is ours."""
    return str(getattr(exc, "strerror", None) or type(exc).__name__)


def picture_streams(container: av.container.InputContainer) -> list[av.VideoStream]:
    """Moving-picture streams (an attached cover picture is not one)."""
    return [s for s in container.streams.video
            if not s.disposition & av.stream.Disposition.attached_pic]


def probe_video(path: Path, mime: str, options: ExtractOptions) -> Detection:
    """A video whose first picture decodes within the pixel limit; sound alone is audio."""
    with opened(path) as container:
        streams = picture_streams(container)
        if streams:
            stream = check(container, streams[0], options)
    if not streams:
        from fileproc_dagster.describe.audio.probe import probe_audio

        return probe_audio(path, mime, options)
    fps = f", {stream.frame_rate:g} fps" if stream.frame_rate else ""
    length = (f", {stream.declared_duration_s:.1f} s" if stream.declared_duration_s else "")
    sound = f", {stream.audio_codec} audio" if stream.audio_codec else ", no audio"
    return Detection(FileKind.VIDEO, video_mime(mime),
                     f"{stream.container} video ({stream.codec}) {stream.width}x{stream.height}"
                     f"{fps}{length}{sound}")


def video_mime(mime: str) -> str:
    """The ``video/`` type of a container libmagic may name otherwise (Matroska, MP4, Ogg)."""
    return mime if mime.startswith("video/") else _CONTAINER_MIMES.get(
        mime, "video/" + mime.split("/")[-1])


def check(container: av.container.InputContainer, stream: av.VideoStream,
          options: ExtractOptions) -> VideoStream:
    """The stream's facts once its header is sane and its first picture decodes (BadInput)."""
    if stream.codec_context is None or stream.codec_context.name in ("", "none"):
        raise BadInput("video stream cannot be decoded: its codec is unknown to ffmpeg",
                       verdict="unsupported")
    facts = stream_facts(container, stream)
    if facts.width <= 0 or facts.height <= 0:
        raise BadInput(f"video stream declares an empty picture size "
                       f"{facts.width}x{facts.height}")
    pixels = facts.width * facts.height
    if pixels > options.max_image_pixels:
        raise BadInput(f"video frames of {facts.width}x{facts.height} = {pixels:,} pixels are "
                       f"over the limit of {options.max_image_pixels:,}")
    first_picture(container, stream)
    return facts


def stream_facts(container: av.container.InputContainer, stream: av.VideoStream) -> VideoStream:
    context = stream.codec_context
    rate = stream.average_rate or stream.guessed_rate
    duration = None
    if stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    elif container.duration:
        duration = container.duration / av.time_base
    audio = next((a for a in container.streams.audio if a.codec_context is not None), None)
    return VideoStream(
        container=container.format.name.split(",")[0], codec=context.name or "",
        width=int(context.width or 0), height=int(context.height or 0),
        frame_rate=round(float(rate), 3) if isinstance(rate, Fraction) and rate > 0 else None,
        declared_duration_s=round(duration, 3) if duration and duration > 0 else None,
        declared_frames=int(stream.frames or 0), bit_rate=container.bit_rate or None,
        audio_codec=audio.codec_context.name.removesuffix("float") if audio else None,
        audio_sample_rate=int(audio.codec_context.sample_rate or 0) if audio else None,
        audio_channels=int(audio.codec_context.channels or 0) if audio else None)


def first_picture(container: av.container.InputContainer, stream: av.VideoStream
                  ) -> av.VideoFrame:
    """The first decoded picture; BadInput for an empty stream or one that does not decode."""
    packets = 0
    try:
        for count, packet in enumerate(container.demux(stream)):
            packets += bool(packet.size)
            for frame in packet.decode():
                return frame
            if count >= FIRST_PICTURE_PACKETS:
                break
    except av.FFmpegError as exc:
        raise BadInput(f"video stream does not decode: {ffmpeg_reason(exc)}") from exc
    if packets == 0:
        raise BadInput("video stream is empty: it holds no picture data (a 0-length stream, "
                       "or the file is truncated)")
    raise BadInput(f"video stream does not decode: no picture in its first {packets} packets")
