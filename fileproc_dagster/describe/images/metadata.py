"""A picture's metadata from EXIF, XMP and IPTC, merged into one set of facts with sources.

Precedence, field by field (after the Metadata Working Group's guidance): **EXIF, then XMP,
then IPTC**. EXIF is what the camera wrote; XMP is where editors and cataloguers put what they
add or change (and all a PNG or an edited picture may carry); IPTC-IIM is the older form XMP
replaced. GPS position and capture time are taken as one unit each (latitude with longitude
and altitude, time with its offset) from the first source that has them, so a position is
never assembled from two sources. ``metadata_sources`` says which source gave each field.

Example::

    from PIL import Image
    from fileproc_dagster.describe.images.metadata import picture_metadata

    found = picture_metadata(Image.open("IMG_1.png"))
    found.merged["Model"], found.sources["Model"]  # ('Pixel 7', 'xmp')
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageFile, IptcImagePlugin

from fileproc_dagster.describe.images.facts import exif_facts
from fileproc_dagster.describe.images.xmp import XmpError, xmp_facts, xmp_packet

log = logging.getLogger(__name__)

SOURCES = ("exif", "xmp", "iptc")  # in order of precedence
# Fields that are merged, and the groups that travel together (their first field decides).
MERGED = ("Make", "Model", "LensModel", "DateTimeOriginal", "OffsetTimeOriginal", "GPSLatitude",
          "GPSLongitude", "GPSAltitude", "Rating", "Title", "ImageDescription", "Keywords",
          "Artist", "Copyright", "City", "Location", "State", "Country", "CountryCode")
# Each group: its fields, and how many of the first ones a source needs to give it.
_GROUPS = ((("GPSLatitude", "GPSLongitude", "GPSAltitude"), 2),
           (("DateTimeOriginal", "OffsetTimeOriginal"), 1))
_UTF8 = b"\x1b%G"  # IPTC record 1:90, coded character set: UTF-8
# IPTC-IIM record 2 datasets -> our names; several may map to one name (first wins).
_IPTC = {(2, 5): "Title", (2, 105): "Title", (2, 120): "ImageDescription", (2, 25): "Keywords",
         (2, 80): "Artist", (2, 116): "Copyright", (2, 90): "City", (2, 92): "Location",
         (2, 95): "State", (2, 101): "Country", (2, 100): "CountryCode"}


@dataclass(frozen=True)
class Metadata:
    """Facts per source, the merged facts, where each merged one came from, and warnings."""

    exif: dict[str, Any]
    xmp: dict[str, Any] = field(default_factory=dict)
    iptc: dict[str, Any] = field(default_factory=dict)
    merged: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def picture_metadata(image: Image.Image) -> Metadata:
    """Read EXIF, XMP and IPTC of an opened picture and merge them (see the module doc)."""
    warnings: list[str] = []
    xmp: dict[str, Any] = {}
    packet = xmp_packet(image.info)
    if packet is not None:
        try:
            xmp = xmp_facts(packet)
        except XmpError as exc:
            log.warning("%s", exc)
            warnings.append(str(exc))
    iptc = iptc_facts(image, warnings)
    exif = exif_facts(image)
    merged, sources = merge({"exif": exif, "xmp": xmp, "iptc": iptc})
    return Metadata(exif, xmp, iptc, merged, sources, warnings)


def merge(by_source: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, str]]:
    """The first value of each field in SOURCES order, and the source it was taken from."""
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    grouped = {name for group, _ in _GROUPS for name in group}
    for group, needed in _GROUPS:
        for source in SOURCES:
            facts = by_source.get(source, {})
            if all(facts.get(name) is not None for name in group[:needed]):
                for name in group:
                    if facts.get(name) is not None:
                        merged[name], sources[name] = facts[name], source
                break
    for name in MERGED:
        if name in grouped:
            continue
        for source in SOURCES:
            value = by_source.get(source, {}).get(name)
            if value not in (None, "", []):
                merged[name], sources[name] = value, source
                break
    order = {name: i for i, name in enumerate(MERGED)}
    return (dict(sorted(merged.items(), key=lambda kv: order[kv[0]])),
            dict(sorted(sources.items(), key=lambda kv: order[kv[0]])))


def iptc_facts(image: Image.Image, warnings: list[str]) -> dict[str, Any]:
    """IPTC-IIM datasets of a JPEG or TIFF (Photoshop APP13 / TIFF tag 33723), named."""
    if not isinstance(image, ImageFile.ImageFile) or image.format not in ("JPEG", "TIFF"):
        return {}
    try:
        found = IptcImagePlugin.getiptcinfo(image)
    except (OSError, SyntaxError, ValueError, KeyError, IndexError, struct.error) as exc:
        warnings.append(f"IPTC block is damaged and was ignored: {exc}")
        return {}
    if not found:
        return {}
    utf8 = found.get((1, 90)) == _UTF8
    facts: dict[str, Any] = {}
    for key, name in _IPTC.items():
        raw = found.get(key)
        if raw is None or name in facts:
            continue
        values = [_decode(v, utf8) for v in (raw if isinstance(raw, list) else [raw])]
        values = [v for v in values if v]
        if values:
            facts[name] = values[:50] if name == "Keywords" else values[0]
    day = _decode(_first(found.get((2, 55))), utf8)
    if len(day) == 8 and day.isdigit():
        clock = _decode(_first(found.get((2, 60))), utf8)
        when = f"{day[:4]}:{day[4:6]}:{day[6:]}"
        if len(clock) >= 6 and clock[:6].isdigit():
            when += f" {clock[:2]}:{clock[2:4]}:{clock[4:6]}"
            if len(clock) == 11 and clock[6] in "+-":
                facts["OffsetTimeOriginal"] = f"{clock[6:9]}:{clock[9:]}"
        facts["DateTimeOriginal"] = when
    return facts


def _first(raw: bytes | list[bytes] | None) -> bytes:
    if isinstance(raw, list):
        return raw[0] if raw else b""
    return raw or b""


def _decode(raw: bytes, utf8: bool) -> str:
    """IIM text: UTF-8 when declared (or when it decodes), else Latin-1; trimmed."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8" if utf8 else "latin-1", errors="replace")
    return text.replace("\x00", "").strip()[:200]
