"""Small sample files made from scratch: a scanned page, a digital PDF, a photo, speech.

They feed the tests that must run without the development corpus and the README demo
(``samples/``, remade by ``python scripts/make_samples.py``). The scan is rendered with a real
TrueType font, the speech spoken by espeak-ng, the PDF written by reportlab (a dev extra).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

SCAN_TEXT = """Harbour View Tenants Association
Notice of annual general meeting

The annual general meeting will be held in the community room
on Thursday 14 March at seven in the evening. Every household
may send one voting member. Reports from the treasurer and the
garden group will be presented, followed by the election of the
committee for the coming year. Tea and biscuits will be served."""

PDF_TEXT = """Library lending policy
Members may borrow up to eight items at a time for three weeks.
Items can be renewed twice unless another member has reserved them.
Overdue items are charged ten pence per day, up to a maximum of five pounds."""

SPEECH_TEXT = ("Hello, this is a short test recording. The delivery will arrive on Monday "
               "morning between nine and eleven.")

FONT_CANDIDATES = ("DejaVuSerif.ttf", "DejaVuSans.ttf", "LiberationSerif-Regular.ttf")
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))


def find_font() -> Path:
    """A real TrueType font from the system (fonts-dejavu-core on Debian)."""
    for name in FONT_CANDIDATES:
        for directory in FONT_DIRS:
            found = next(directory.rglob(name), None) if directory.exists() else None
            if found:
                return found
    raise FileNotFoundError("no TrueType font found: install fonts-dejavu-core")


def make_scan(path: Path, text: str = SCAN_TEXT, dpi: int = 200) -> Path:
    """A greyscale page scan (A5) of ``text``, slightly noisy like a real scanner."""
    width, height = int(5.83 * dpi), int(8.27 * dpi)
    page = Image.new("L", (width, height), 245)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(str(find_font()), size=int(dpi * 0.15))
    y = int(dpi * 0.8)
    for line in text.splitlines():
        draw.text((int(dpi * 0.6), y), line, fill=25, font=font)
        y += int(dpi * 0.26)
    noise = Image.effect_noise((width, height), 6)
    page = Image.blend(page, noise, 0.04).filter(ImageFilter.GaussianBlur(0.4))
    page.save(path, dpi=(dpi, dpi), optimize=True)
    return path


def make_pdf(path: Path, text: str = PDF_TEXT) -> Path:
    """A born-digital one-page PDF with a real text layer."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    y = A4[1] - 72
    for i, line in enumerate(text.splitlines()):
        pdf.setFont("Helvetica-Bold" if i == 0 else "Helvetica", 16 if i == 0 else 11)
        pdf.drawString(72, y, line)
        y -= 24 if i == 0 else 16
    pdf.save()
    return path


def make_photo(path: Path) -> Path:
    """A 640x480 JPEG 'photo' (sky, hills, sun) with camera, time and GPS EXIF."""
    width, height = 640, 480
    photo = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(photo)
    for y in range(height):
        shade = int(120 + 100 * y / height)
        draw.line([(0, y), (width, y)], fill=(70, shade - 30, 200 + y * 55 // height))
    draw.ellipse((470, 50, 560, 140), fill=(250, 220, 90))
    draw.polygon([(0, 330), (180, 250), (380, 320), (640, 240), (640, 480), (0, 480)],
                 fill=(60, 120, 55))
    photo = photo.filter(ImageFilter.GaussianBlur(1.2))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Fileproc", "Sample Camera", 1
    exif.get_ifd(0x8769)[0x9003] = "2024:05:04 10:30:00"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 30.0)})
    photo.save(path, quality=88, exif=exif)
    return path


def make_speech(path: Path, text: str = SPEECH_TEXT) -> Path:
    """A short speech clip (16 kHz WAV) spoken by espeak-ng."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise FileNotFoundError("espeak-ng is not installed")
    subprocess.run([espeak, "-v", "en-us", "-s", "150", "-w", str(path), text], check=True,
                   stdout=subprocess.DEVNULL)
    return path


def make_all(directory: Path) -> list[Path]:
    """All four samples in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    return [make_scan(directory / "notice_scan.png"), make_pdf(directory / "lending_policy.pdf"),
            make_photo(directory / "hills_photo.jpg"),
            make_speech(directory / "delivery_message.wav")]

