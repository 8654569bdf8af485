"""Facts, text and a thumbnail for pictures, and the one safe way to open a picture.

Example::

    from pathlib import Path
    from fileproc_dagster.describe.images.describe import describe_image
    from fileproc_dagster.describe.model import ExtractOptions

    desc = describe_image(Path("IMG_20180619_135726.jpg"), ExtractOptions())
    print(desc.description)  # JPEG photo 600x400, Google Pixel 7, ...; tags: espresso
    print(desc.details["exif"]["GPSLatitude"], desc.details["categories"], desc.text)
"""

from __future__ import annotations

import functools
import io
import logging
import math
import re
import struct
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from fileproc_dagster.describe.images.facts import rgb_facts
from fileproc_dagster.describe.images.metadata import picture_metadata
from fileproc_dagster.describe.images.picture_text import find_text
from fileproc_dagster.describe.model import Description, ExtractOptions
from fileproc_dagster.describe.ocr.languages import first_read_language
from fileproc_dagster.errors import BadInput

log = logging.getLogger(__name__)

THUMBNAIL_SIDE = 256
WORK_SIDE = 1600  # enough for text in a photo; bigger pictures are reduced before analysis
# Formats with a pure decoder in Pillow; EPS (Ghostscript), WMF, MPEG and friends stay out.
# HEIF (iPhone photos) comes from pillow-heif, tried after Pillow's own AVIF decoder: both
# claim AVIF files, and Pillow tries the formats in this order.
SAFE_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "DIB", "TIFF", "WEBP", "AVIF", "HEIF", "ICO", "PPM",
                "JPEG2000", "QOI", "PCX", "TGA", "SGI")
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error,
                  zlib.error)
MAX_ANIMATION_FRAMES = 10_000  # frames whose durations are summed; past this: a bomb, not a GIF
_NOT_ANIMATION = ("TIFF", "MPO")  # several frames, but pages or stereo views, not motion


@functools.cache
def register_heif() -> None:
    """Teach Pillow HEIC/HEIF (once per process; the library loads with the first picture)."""
    from pillow_heif import register_heif_opener

    register_heif_opener()


def open_image(path: Path, max_pixels: int) -> Image.Image:
    """Open ``path`` lazily, refusing decompression bombs from the header alone (BadInput)."""
    register_heif()
    try:
        with warnings.catch_warnings():
            # Our own limit below decides; Pillow's softer warning level is only noise here.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path, formats=SAFE_FORMATS)
    except Image.DecompressionBombError as exc:
        # Pillow refuses far-too-large images itself, before our own (configurable) limit.
        numbers = [int(n) for n in re.findall(r"(\d+) pixels", str(exc))]
        pixels, limit = (numbers + [0, max_pixels])[:2]
        raise BadInput(_bomb_reason(pixels, None, min(limit, max_pixels))) from exc
    except UnidentifiedImageError as exc:
        raise BadInput("not a picture format we can read", verdict="unsupported") from exc
    except _DECODE_ERRORS as exc:
        if "MAX_TEXT" in str(exc):  # Pillow's bound on (compressed) text chunks such as XMP
            raise BadInput("decompression bomb refused: the picture's text metadata (XMP, "
                           f"comments) unpacks to more than Pillow reads safely ({exc})") from exc
        raise BadInput(f"picture header is damaged: {exc}") from exc
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise BadInput(_bomb_reason(width * height, (width, height), max_pixels))
    if width == 0 or height == 0:
        image.close()
        raise BadInput(f"{image.format} image declares an empty size {width}x{height}")
    return image


def decode_frame(image: Image.Image, max_side: int = WORK_SIDE) -> Image.Image:
    """Decode frame 1 into an L/RGB/RGBA copy at most ``max_side`` px; BadInput if damaged."""
    if image.format in ("JPEG", "MPO") and max(image.size) > max_side:
        # JPEG decodes straight at 1/2, 1/4 or 1/8 scale: a fraction of the time and memory.
        scale = max_side / max(image.size)
        image.draft(image.mode, (math.ceil(image.width * scale), math.ceil(image.height * scale)))
    try:
        image.load()
    except _DECODE_ERRORS as exc:
        reason = f"{image.format} image is damaged: its pixels do not decode ({exc})"
        raise BadInput(reason) from exc
    frame = _eight_bit(image)
    if max(frame.size) > max_side:
        scale = max_side / max(frame.size)
        size = (max(round(frame.width * scale), 1), max(round(frame.height * scale), 1))
        frame = frame.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return frame


def has_alpha(image: Image.Image) -> bool:
    """Whether the picture carries transparency (an alpha channel or a transparent colour)."""
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def is_animated(image: Image.Image) -> bool:
    """Whether the picture is an animation (GIF, APNG, WebP), not a multi-page scan."""
    return getattr(image, "n_frames", 1) > 1 and image.format not in _NOT_ANIMATION


def animation_facts(image: Image.Image) -> dict[str, Any]:
    """Length of an animation (all frames' durations), its first frame's and its loop count
    (0: forever); frame headers are read, pixels are not. Left on the first frame."""
    facts: dict[str, Any] = {}
    if image.info.get("duration"):
        facts["frame_duration_ms"] = image.info["duration"]
    if "loop" in image.info:
        facts["loop"] = image.info["loop"]
    filename = getattr(image, "filename", "")
    if image.format == "WEBP" and filename:
        # Pillow learns a WebP frame's duration only by decoding it; the chunks say it.
        durations = _webp_durations(Path(filename))
        facts["frame_duration_ms"] = durations[0] if durations else 0
        facts["duration_ms"] = sum(durations)
        return facts
    total = 0.0
    try:
        for index in range(min(getattr(image, "n_frames", 1), MAX_ANIMATION_FRAMES)):
            image.seek(index)
            total += float(image.info.get("duration") or 0)
        facts["duration_ms"] = round(total)
    except _DECODE_ERRORS as exc:
        facts["frames_warning"] = f"frame {index + 1} is damaged: {exc}"
    image.seek(0)
    return facts


def _webp_durations(path: Path) -> list[int]:
    """Each frame's duration (ms) from a WebP's ANMF chunks, without decoding a pixel."""
    durations: list[int] = []
    with path.open("rb") as fh:
        fh.seek(12)  # "RIFF", size, "WEBP"
        while len(durations) < MAX_ANIMATION_FRAMES:
            header = fh.read(8)
            if len(header) < 8:
                break
            fourcc, size = header[:4], struct.unpack("<I", header[4:])[0]
            if fourcc == b"ANMF":
                payload = fh.read(16)
                if len(payload) < 16:
                    break
                durations.append(int.from_bytes(payload[12:15], "little"))
                fh.seek(size + (size & 1) - 16, io.SEEK_CUR)
            else:
                fh.seek(size + (size & 1), io.SEEK_CUR)
    return durations


def describe_photo(path: Path, mime: str, options: ExtractOptions) -> Description:
    """The format registry's reader of photos (every picture type reads the same way)."""
    return describe_image(path, options)


def describe_image(path: Path, options: ExtractOptions) -> Description:
    """Pillow facts, EXIF, colours, text, tags and faces, and a PNG thumbnail of one image."""
    with open_image(path, options.max_image_pixels) as image:
        stored = image.size
        details: dict[str, Any] = {
            "width": stored[0], "height": stored[1], "format": image.format,
            "mode": image.mode, "has_alpha": has_alpha(image),
            "n_frames": getattr(image, "n_frames", 1), "animated": is_animated(image),
        }
        if details["animated"]:
            details.update(animation_facts(image))
        frame = decode_frame(image)
        metadata = picture_metadata(image)
    exif = metadata.exif
    orientation = exif.get("Orientation", 1)
    turned = isinstance(orientation, int) and orientation in (5, 6, 7, 8)
    details["display_width"], details["display_height"] = stored[::-1] if turned else stored
    details.update(rgb_facts(frame))
    details["exif"] = exif
    details.update({k: v for k, v in (("xmp", metadata.xmp), ("iptc", metadata.iptc)) if v})
    details["metadata"], details["metadata_sources"] = metadata.merged, metadata.sources
    if metadata.warnings:
        details["metadata_warnings"] = metadata.warnings
    upright = _upright(frame, orientation)
    text = find_text(upright.convert("RGB"), language=first_read_language(options.ocr_language),
                     timeout_s=options.ocr_timeout_s)
    details["text_lines"] = len(text.splitlines()) if text else 0
    seen = ""
    if options.image_tags:
        from fileproc_dagster.describe.images.vision import look

        sight = look(upright, details["text_lines"], details["display_width"])
        details.update(sight.as_details())
        seen = sight.summary()
    line = "; ".join(part for part in (_one_line(details, text), seen) if part)
    return Description(description=line, text=text, details=details,
                       thumbnail=thumbnail_png(upright))


def thumbnail_png(frame: Image.Image, side: int = THUMBNAIL_SIDE) -> bytes:
    """PNG bytes of ``frame`` scaled to at most ``side`` px (already upright)."""
    small = frame.copy()
    small.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, format="PNG")
    return out.getvalue()


def _upright(frame: Image.Image, orientation: object) -> Image.Image:
    if not isinstance(orientation, int) or orientation in (0, 1) or orientation > 8:
        return frame
    method = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}[orientation]
    return frame.transpose(method)


def _eight_bit(image: Image.Image) -> Image.Image:
    """The decoded frame as L, RGB or RGBA (16-bit and float scans scaled, not clipped)."""
    if image.mode in ("L", "RGB", "RGBA"):
        return image
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        values = np.asarray(image, dtype=np.float64)
        top = float(values.max()) if values.size else 0.0
        scaled = values * (255.0 / top) if top > 255 else values
        return Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8), mode="L")
    if has_alpha(image):
        return image.convert("RGBA")
    return image.convert("L" if image.mode == "1" else "RGB")


def _bomb_reason(pixels: int, size: tuple[int, int] | None, limit: int) -> str:
    declared = f"{size[0]}x{size[1]} = " if size else ""
    return (f"decompression bomb refused: the image declares {declared}{pixels:,} pixels, "
            f"over the limit of {limit:,}")


def _one_line(details: dict[str, Any], text: str) -> str:
    exif = details["metadata"]  # EXIF, else XMP, else IPTC
    camera = " ".join(str(exif[k]) for k in ("Make", "Model") if exif.get(k))
    if exif.get("Make") and str(exif.get("Model", "")).startswith(str(exif["Make"])):
        camera = str(exif["Model"])  # "Canon Canon EOS 80D" reads badly
    noun = "animation" if details["animated"] else "photo" if camera else "image"
    parts = [f"{details['format']} {noun} {details['width']}x{details['height']}"]
    if details["animated"]:
        length = f", {details['duration_ms'] / 1000:g} s" if details.get("duration_ms") else ""
        parts[0] += f" ({details['n_frames']} frames{length})"
    if camera:
        parts.append(camera)
    taken = str(exif.get("DateTimeOriginal") or details["exif"].get("DateTime") or "")
    if re.match(r"\d{4}:\d\d:\d\d \d\d:\d\d", taken):
        parts.append(f"{taken[:10].replace(':', '-')} {taken[11:16]}")
    if "GPSLatitude" in exif and "GPSLongitude" in exif:
        parts.append(f"GPS {exif['GPSLatitude']:.5f},{exif['GPSLongitude']:.5f}")
    if text:
        snippet = " ".join(text.split())
        parts.append(f'text "{snippet[:60]}{"..." if len(snippet) > 60 else ""}"')
    return ", ".join(parts)
