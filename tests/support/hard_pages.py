"""Pages that real uploads bring and that a page/photo rule by pixel statistics gets wrong.

``fax_form`` is a dense form in small type, 1-bit, saved as a CCITT Group 4 TIFF at 300 dpi
(a fax or a scanner's black-and-white mode); ``small_capture`` is a book page photographed
small: a grayscale picture under 400 px wide, dark on its left edge, unevenly lit. Both are
documents and plain ``tesseract FILE -`` reads them; the pipeline must not do worse.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from support.pages import A4_INCHES, MINUTES
from support.samples import find_font

FORM_FIELDS = (
    ("Customer name", "Harriet Pemberton"), ("Account number", "4471 2039 88"),
    ("Delivery address", "17 Orchard Row, Kelby, Lincolnshire"),
    ("Order date", "14 February 2024"), ("Reference", "ORD-58821-B"),
    ("Contact telephone", "01632 960 412"),
)
FORM_NOTES = (
    "Please check every item against the delivery note before you sign for the goods. "
    "Damaged or missing items must be reported within three working days, together with "
    "the order reference and a photograph of the packaging. Returns are collected from the "
    "delivery address on a weekday of your choice; the driver will bring the return label. "
    "Refunds are paid to the original card within ten days of the goods reaching the "
    "warehouse. Bulky furniture is delivered to the ground floor only unless a two person "
    "service was booked. Questions about this order should quote the account number above."
)


def fax_form(path: Path, *, points: float = 8.0, dpi: int = 300) -> tuple[Path, str]:
    """A dense printed form, 1-bit, CCITT G4 TIFF at ``dpi``; the path and its text."""
    width, height = round(A4_INCHES[0] * dpi), round(A4_INCHES[1] * dpi)
    font = ImageFont.truetype(str(find_font()), round(points * dpi / 72))
    bold = ImageFont.truetype(str(find_font()), round(points * 1.6 * dpi / 72))
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    margin, pitch = dpi * 3 // 4, round(font.size * 1.5)
    lines = ["ORDER CONFIRMATION AND DELIVERY FORM"]
    draw.text((margin, margin), lines[0], font=bold, fill=0)
    y = margin + round(bold.size * 2)
    for label, value in FORM_FIELDS:  # boxed fields, label left, value right
        draw.rectangle((margin, y - 8, width - margin, y + pitch), outline=0, width=2)
        draw.text((margin + 12, y), f"{label}:", font=font, fill=0)
        draw.text((margin + width // 3, y), value, font=font, fill=0)
        lines.append(f"{label}: {value}")
        y += pitch + 16
    y += pitch
    per_line = int((width - 2 * margin) / (font.getlength("abcdefghijklmnopqrstuvwxyz") / 26))
    for text in (FORM_NOTES, MINUTES):
        for line in (w for para in text.split("\n") for w in textwrap.wrap(para, per_line)):
            draw.text((margin, y), line, font=font, fill=0)
            lines.append(line)
            y += pitch
        y += pitch
    page.point(lambda v: 255 if v > 128 else 0).convert("1").save(
        path, format="TIFF", compression="group4", dpi=(dpi, dpi))
    return path, "\n".join(lines)


def small_capture(path: Path, *, width: int = 380, seed: int = 0) -> tuple[Path, str]:
    """A book page's top half photographed small: grayscale PNG ``width`` px wide, a dark
    left edge (the spine's shadow) and light falling off across the page; its text."""
    dpi, points = 300, 11.0
    page_w, page_h = round(5.5 * dpi), round(4.2 * dpi)  # a paperback page, its upper half
    font = ImageFont.truetype(str(find_font()), round(points * dpi / 72))
    margin, pitch = dpi * 2 // 3, round(font.size * 1.45)
    per_line = int((page_w - 2 * margin) / (font.getlength("abcdefghijklmnopqrstuvwxyz") / 26))
    lines = [w for para in MINUTES.split("\n") for w in textwrap.wrap(para, per_line)]
    lines = lines[: (page_h - 2 * margin) // pitch]
    page = Image.new("L", (page_w, page_h), 255)
    draw = ImageDraw.Draw(page)
    for row, line in enumerate(lines):
        draw.text((margin, margin + row * pitch), line, font=font, fill=0)
    rng = np.random.default_rng(seed)
    grey = 45 + np.asarray(page, np.float32) * (215 - 45) / 255
    across = np.linspace(0, 1, page_w)[None, :]
    down = np.linspace(0, 1, page_h)[:, None]
    light = (0.55 + 0.45 * np.minimum(across / 0.12, 1.0)) * (1.0 - 0.25 * across * down)
    spine = np.clip(1 - across / 0.04, 0, 1) * 0.8  # the gutter: nearly black at the edge
    grey = grey * light * (1 - spine)
    scale = width / page_w
    grey = cv2.GaussianBlur(grey, (0, 0), 0.6 / scale)
    grey = cv2.resize(grey, (width, round(page_h * scale)), interpolation=cv2.INTER_AREA)
    grey = np.clip(grey + rng.normal(0, 3.0, grey.shape), 0, 255).astype(np.uint8)
    Image.fromarray(grey, mode="L").save(path, format="PNG")
    return path, "\n".join(lines)
