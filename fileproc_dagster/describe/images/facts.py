"""Plain facts about a picture: EXIF (camera, time, GPS as decimal degrees) and its colours."""

from __future__ import annotations

import logging
import math
import struct
import unicodedata
from typing import Any

import numpy as np
from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

log = logging.getLogger(__name__)

_SKIPPED_TAGS = {"MakerNote", "UserComment", "ExifOffset", "GPSInfo", "PrintImageMatching",
                 "ComponentsConfiguration", "FileSource", "SceneType", "ExifVersion",
                 "FlashPixVersion", "InteropOffset", "JPEGInterchangeFormat",
                 "JPEGInterchangeFormatLength", "StripOffsets", "StripByteCounts"}
_MAX_TEXT = 200  # longer EXIF strings are junk or embedded blobs, not facts


def exif_facts(image: Image.Image) -> dict[str, Any]:
    """Named EXIF tags as JSON values; GPS position as signed decimal degrees."""
    try:
        exif = image.getexif()
        tags = dict(exif.items())
        tags.update(exif.get_ifd(ExifTags.IFD.Exif))
        gps = {ExifTags.GPSTAGS.get(k, str(k)): v
               for k, v in exif.get_ifd(ExifTags.IFD.GPSInfo).items()}
    except (OSError, SyntaxError, ValueError, KeyError, TypeError, struct.error) as exc:
        # Broken metadata must not sink an otherwise good picture.
        log.warning("unreadable EXIF ignored: %s", exc)
        return {}
    facts: dict[str, Any] = {}
    for key, value in tags.items():
        name = ExifTags.TAGS.get(key)
        if name is None or name in _SKIPPED_TAGS:
            continue
        plain = _jsonable(value)
        if plain is not None:
            facts[name] = plain
    facts.update(_gps_facts(gps))
    return facts


def rgb_facts(frame: Image.Image) -> dict[str, Any]:
    """Mean RGB (alpha ignored) and the few dominant colours (opaque pixels) of one frame."""
    rgb = np.asarray(frame.convert("RGB"), dtype=np.float64).reshape(-1, 3)
    mean = [round(float(v), 1) for v in rgb.mean(axis=0)]
    small = frame.convert("RGBA")
    small.thumbnail((96, 96), Image.Resampling.BOX)
    pixels = np.asarray(small).reshape(-1, 4)
    opaque = pixels[pixels[:, 3] >= 128][:, :3]
    return {"mean_rgb": mean, "dominant_colors": _dominant(opaque)}


def _dominant(pixels: np.ndarray, count: int = 5) -> list[dict[str, Any]]:
    if not len(pixels):
        return []
    strip = Image.fromarray(np.ascontiguousarray(pixels.reshape(1, -1, 3)).astype(np.uint8))
    paletted = strip.quantize(colors=count, method=Image.Quantize.MEDIANCUT)
    palette: list[int] = paletted.getpalette() or []
    found = sorted(((n, i) for n, i in paletted.getcolors() or [] if isinstance(i, int)),
                   reverse=True)
    total = sum(n for n, _ in found)
    return [{"hex": "#{:02x}{:02x}{:02x}".format(*palette[3 * i:3 * i + 3]),
             "share": round(n / total, 3)} for n, i in found]


def _gps_facts(gps: dict[str, Any]) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for axis, negative in (("Latitude", "S"), ("Longitude", "W")):
        ref = _jsonable(gps.get(f"GPS{axis}Ref"))
        degrees = _degrees(gps.get(f"GPS{axis}"))
        if degrees is None:
            continue
        if isinstance(ref, str) and ref.strip().upper().startswith(negative):
            degrees = -degrees
        facts[f"GPS{axis}"] = round(degrees, 7)
        if isinstance(ref, str):
            facts[f"GPS{axis}Ref"] = ref.strip().upper()
    altitude = _number(gps.get("GPSAltitude"))
    if altitude is not None:
        below_sea = gps.get("GPSAltitudeRef") in (1, b"\x01")
        facts["GPSAltitude"] = -altitude if below_sea else altitude
    for name in ("GPSDateStamp", "GPSTimeStamp"):
        plain = _jsonable(gps.get(name))
        if plain is not None:
            facts[name] = plain
    return facts


def _degrees(value: Any) -> float | None:
    """Degrees, minutes, seconds (or already decimal) -> decimal degrees."""
    if isinstance(value, (tuple, list)):
        parts = [_number(v) for v in value[:3]]
        if not parts or any(p is None for p in parts):
            return None
        return float(sum(p / 60**i for i, p in enumerate(parts) if p is not None))
    number = _number(value)
    return None if number is None else float(number)


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, IFDRational)):
        return None
    number = float(value)
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() else number


def _printable(text: str) -> str:
    """The text without control and unassigned characters (a camera may fill a field with
    stray bytes: a ``Make`` of ``\\x8c`` says nothing); line breaks and tabs kept."""
    kept = "".join(c for c in text if c in "\n\t" or unicodedata.category(c)[0] != "C")
    return kept.strip()


def _jsonable(value: Any) -> Any:
    """EXIF value -> JSON value; None for what has no plain form (blobs, broken numbers)."""
    if isinstance(value, str):
        text = _printable(value)
        return text[:_MAX_TEXT] if text else None
    if isinstance(value, (int, float, IFDRational)) and not isinstance(value, bool):
        return _number(value)
    if isinstance(value, (tuple, list)):
        items = [_jsonable(v) for v in value[:16]]
        return items if items and all(i is not None for i in items) else None
    return None  # bytes and undecoded structures
