"""Keyframes of a video at evenly spread times, and where its picture data really ends.

Each sample seeks to the keyframe at or before its time and decodes that one picture, so
the work is bounded by the number of samples, not by the video's length. A short clip with a
single keyframe gives a single picture: samples landing on the same keyframe are kept once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction

import av
from PIL import Image

from fileproc_dagster.describe.video.probe import ffmpeg_reason
from fileproc_dagster.errors import BadInput

log = logging.getLogger(__name__)

KEYFRAME_SIDE = 640  # enough for tags and faces; a 4K frame is reduced as it is converted
_PACKETS_PER_SAMPLE = 120  # after a seek: B-frame reordering needs a few, never hundreds
_MICROSECOND = Fraction(1, 1_000_000)  # a stream without a time base counts in these
_MAX_DEMUXED_PACKETS = 2_000_000  # about 18 hours at 30 fps: past this the end is not sought


@dataclass(frozen=True)
class Keyframe:
    time_s: float
    picture: Image.Image


def keyframes(container: av.container.InputContainer, stream: av.VideoStream, duration: float,
              count: int) -> list[Keyframe]:
    """Up to ``count`` distinct pictures, the i-th from the keyframe before (i+½)/count of it."""
    found: dict[int, Keyframe] = {}
    for i in range(max(count, 0)):
        target = duration * (i + 0.5) / count
        frame = _picture_at(container, stream, target)
        if frame is not None and (frame.pts or 0) not in found:
            found[frame.pts or 0] = Keyframe(round(float(frame.time or 0.0), 3), _upright(frame))
    return sorted(found.values(), key=lambda k: k.time_s)


def _picture_at(container: av.container.InputContainer, stream: av.VideoStream,
                seconds: float) -> av.VideoFrame | None:
    try:
        start = int(seconds / (stream.time_base or _MICROSECOND)) + (stream.start_time or 0)
        container.seek(start, stream=stream, backward=True, any_frame=False)
        for count, packet in enumerate(container.demux(stream)):
            for frame in packet.decode():
                return frame
            if count >= _PACKETS_PER_SAMPLE:
                break
    except av.FFmpegError as exc:
        log.warning("no keyframe near %.1f s: %s", seconds, ffmpeg_reason(exc))
    return None


def _upright(frame: av.VideoFrame) -> Image.Image:
    """The picture as RGB at most KEYFRAME_SIDE px, turned as the video is shown."""
    scale = min(1.0, KEYFRAME_SIDE / max(frame.width, frame.height))
    width, height = max(1, round(frame.width * scale)), max(1, round(frame.height * scale))
    picture: Image.Image = frame.reformat(width=width, height=height,
                                          format="rgb24").to_image()  # type: ignore[no-untyped-call]
    turn = {90: Image.Transpose.ROTATE_90, -90: Image.Transpose.ROTATE_270,
            270: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180,
            -180: Image.Transpose.ROTATE_180}.get(int(getattr(frame, "rotation", 0) or 0))
    return picture if turn is None else picture.transpose(turn)


def data_end(container: av.container.InputContainer, stream: av.VideoStream) -> float:
    """Seconds up to which the stream has picture data (packets are read, not decoded), in a
    container just opened (a damaged file may refuse to seek back to its start)."""
    end = 0.0
    try:
        for count, packet in enumerate(container.demux(stream)):
            if packet.size and packet.pts is not None:
                tail = packet.pts + (packet.duration or 0) - (stream.start_time or 0)
                end = max(end, float(tail * (stream.time_base or _MICROSECOND)))
            if count >= _MAX_DEMUXED_PACKETS:
                return float("inf")
    except av.FFmpegError as exc:
        # Damage in the middle ends the reading there; the caller compares with the length.
        log.warning("video data unreadable after %.1f s: %s", end, ffmpeg_reason(exc))
    return end


def check_complete(declared: float | None, end: float) -> None:
    """BadInput when the picture data stops well before the length the container declares."""
    if declared and declared - end > max(1.0, 0.05 * declared):
        raise BadInput(f"video is truncated: it declares {declared:.1f} s but its picture data "
                       f"ends at {end:.1f} s")
