"""Hostile and broken inputs made on the spot (no corpus needed), shared by the bad-input tests."""

from __future__ import annotations

import io
import os
import random
import struct
import wave
import zipfile
import zlib
from pathlib import Path

from PIL import Image

KIB = 1024
MIB = 1024 * KIB


def random_bytes(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def png(size: tuple[int, int] = (640, 480)) -> bytes:
    image = Image.effect_noise(size, 60).convert("RGB")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: int(len(data) * keep)]


def png_bomb(side: int = 50_000) -> bytes:
    """A valid PNG header declaring side x side RGB pixels, with almost no pixel data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\0" * (side * 3 + 1) * 4)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows)
            + chunk(b"IEND", b""))


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("readme.txt", "hello")
        archive.writestr("picture.png", png((32, 32)))
    return out.getvalue()


def zip_bomb(member: str, unpacked: int = 300 * MIB) -> bytes:
    """A small zip whose one member unpacks to ``unpacked`` bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive, \
            archive.open(member, "w", force_zip64=True) as handle:
        block = b"\0" * MIB
        for _ in range(unpacked // MIB):
            handle.write(block)
    return out.getvalue()


def encrypted_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, encrypt="a-password")
    page.drawString(72, 720, "Confidential minutes of the board")
    page.save()
    return out.getvalue()


def pdf_pages(count: int) -> bytes:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument.new()
    for _ in range(count):
        document.new_page(200, 200)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pdf_text(text: str = "Minutes of the garden committee, second page follows.") -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out)
    for number in (1, 2):
        page.drawString(72, 720, f"{text} Page {number}.")
        page.showPage()
    page.save()
    return out.getvalue()


def docx(text: str = "Minutes of the garden committee.") -> bytes:
    import docx as python_docx

    document = python_docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def wav(frames: int, rate: int = 16_000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(b"\0\0" * frames)
    return out.getvalue()


def corrupt_wav() -> bytes:
    """RIFF/WAVE/fmt/data present, but zero channels and rate, sizes past the end, noise."""
    fmt = struct.pack("<HHIIHH", 1, 0, 0, 0, 0, 16)
    return (b"RIFF" + struct.pack("<I", 10**9) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
            + b"data" + struct.pack("<I", 10**9) + random_bytes(6000, seed=7))


def html() -> bytes:
    return (b"<!DOCTYPE html>\n<html><head><title>Offer</title><script>alert(1)</script>"
            b"</head><body><p>Click here</p></body></html>\n")


def text(topic: str = "garden committee", words: int = 40) -> bytes:
    return (" ".join([f"minutes of the {topic} meeting"] * (words // 6)) + "\n").encode()


def write(folder: Path, name: str | bytes, data: bytes) -> Path:
    """Write ``data`` under ``name`` (bytes: a name that is not valid UTF-8)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (os.fsdecode(name) if isinstance(name, bytes) else name)
    path.write_bytes(data)
    return path
