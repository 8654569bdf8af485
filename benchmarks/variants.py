"""Unique copies of real files that every reader still accepts.

Identical bytes are processed once by design (a re-upload is a duplicate), so a batch that
repeats corpus files needs copies whose content differs while the file stays what it was.
Each format gets a change its readers ignore:

- PNG: an ancillary ``tEXt`` chunk before ``IEND``;
- JPEG: a ``COM`` (comment) segment before the scan data, EXIF untouched;
- GIF: a comment extension before the trailer;
- PDF: a comment line after ``%%EOF`` (readers stop at the last cross-reference);
- DOCX (zip): an archive comment in the end-of-central-directory record;
- audio (WAV, MP3, Ogg, FLAC, M4A): the streams copied unchanged by ffmpeg (``-c copy``)
  with a ``comment`` metadata tag;
- TIFF, BMP, WebP: trailing bytes after the data their headers point to;
- plain text: one more line.
"""

from __future__ import annotations

import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path

Mutation = Callable[[bytes, bytes], bytes]


def _png(data: bytes, payload: bytes) -> bytes:
    body = b"tEXt" + b"Comment\0" + payload
    chunk = (len(body) - 4).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")
    iend = data.rindex(b"IEND") - 4
    return data[:iend] + chunk + data[iend:]


def _jpeg(data: bytes, payload: bytes) -> bytes:
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xDA, 0xD9):  # start of scan / end of image
            break
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    segment = b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload
    return data[:i] + segment + data[i:]


def _gif(data: bytes, payload: bytes) -> bytes:
    comment = b"\x21\xfe" + bytes([len(payload[:255])]) + payload[:255] + b"\x00"
    if data.endswith(b"\x3b"):
        return data[:-1] + comment + b"\x3b"
    return data + comment


def _pdf(data: bytes, payload: bytes) -> bytes:
    return data + b"\n%" + payload + b"\n"


def _zip(data: bytes, payload: bytes) -> bytes:
    eocd = data.rindex(b"PK\x05\x06")
    length = int.from_bytes(data[eocd + 20:eocd + 22], "little")
    comment = data[eocd + 22:eocd + 22 + length] + payload
    return data[:eocd + 20] + len(comment).to_bytes(2, "little") + comment


def _trailing(data: bytes, payload: bytes) -> bytes:
    return data + b"\0" + payload


def _text(data: bytes, payload: bytes) -> bytes:
    return data + (b"" if data.endswith(b"\n") else b"\n") + b"(" + payload + b")\n"


def _is_audio(data: bytes) -> bool:
    return (data[:4] == b"RIFF" and data[8:12] == b"WAVE") or data[:3] == b"ID3" \
        or data[:4] in (b"OggS", b"fLaC") or data[4:8] == b"ftyp" \
        or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


def mutation_for(data: bytes) -> Mutation | None:
    """The byte-level change for this content; None for audio (re-muxed by ffmpeg)."""
    if _is_audio(data):
        return None
    for magic, mutation in ((b"\x89PNG", _png), (b"\xff\xd8", _jpeg), (b"GIF8", _gif),
                            (b"%PDF", _pdf), (b"PK\x03\x04", _zip)):
        if data.startswith(magic):
            return mutation
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return _trailing
    return _text


def make_variant(source: Path, target: Path, tag: str) -> Path:
    """Write a copy of ``source`` to ``target`` whose bytes differ by ``tag``."""
    data = source.read_bytes()
    payload = f"fileproc-bench {tag}".encode()
    mutation = mutation_for(data)
    if mutation is not None:
        target.write_bytes(mutation(data, payload))
        return target
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(source), "-map", "0",
                    "-c", "copy", "-map_metadata", "0", "-metadata", f"comment={payload.decode()}",
                    str(target)], check=True, timeout=120)
    return target
