"""Camera, time, place and captions from a picture's XMP packet, read safely (defusedxml).

XMP is RDF/XML: a property is an attribute of an ``rdf:Description`` or a child element
holding text or an ``rdf:Seq``/``rdf:Bag``/``rdf:Alt`` list. Entity declarations (billion
laughs, external entities) and DTDs are refused by defusedxml before anything expands, and
packets over ``MAX_PACKET_BYTES`` are not parsed at all, so hostile XMP costs no more than its
size and ends as a warning, never as a hung or swollen worker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_PACKET_BYTES = 2 * 1024 * 1024  # real packets are KiB; Photoshop history a few hundred

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
TIFF = "http://ns.adobe.com/tiff/1.0/"
EXIF = "http://ns.adobe.com/exif/1.0/"
EXIF_EX = "http://cipa.jp/exif/1.0/"
AUX = "http://ns.adobe.com/exif/1.0/aux/"
XMP = "http://ns.adobe.com/xap/1.0/"
DC = "http://purl.org/dc/elements/1.1/"
PHOTOSHOP = "http://ns.adobe.com/photoshop/1.0/"
IPTC_CORE = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"

Properties = dict[tuple[str, str], str | list[str]]


class XmpError(ValueError):
    """An XMP packet that was not read, with the reason a person can act on."""


def xmp_packet(info: Mapping[Any, Any]) -> bytes | None:
    """The raw XMP packet Pillow found (PNG iTXt, JPEG APP1, WebP chunk, TIFF tag 700)."""
    packet = info.get("xmp")
    if isinstance(packet, str):
        packet = packet.encode("utf-8", errors="replace")
    return packet if isinstance(packet, bytes) and packet.strip() else None


def xmp_facts(packet: bytes) -> dict[str, Any]:
    """Named facts (EXIF names where EXIF has them) from one packet; XmpError if refused."""
    properties = parse_properties(packet)
    facts: dict[str, Any] = {}
    for name, candidates, convert in _FIELDS:
        for key in candidates:
            value = convert(properties[key]) if key in properties else None
            if value not in (None, "", []):
                facts[name] = value
                break
    taken = facts.pop("DateTimeOriginal", None)
    if isinstance(taken, tuple):
        facts["DateTimeOriginal"], offset = taken
        if offset:
            facts["OffsetTimeOriginal"] = offset
    altitude = facts.get("GPSAltitude")
    if isinstance(altitude, (int, float)) and properties.get((EXIF, "GPSAltitudeRef")) == "1":
        facts["GPSAltitude"] = -altitude
    return facts


def parse_properties(packet: bytes) -> Properties:
    """Every simple or list-valued property of every rdf:Description, by (namespace, name)."""
    if len(packet) > MAX_PACKET_BYTES:
        raise XmpError(f"XMP packet of {len(packet):,} bytes is over the limit of "
                       f"{MAX_PACKET_BYTES:,} bytes; not read")
    # Packets carry a <?xpacket ...?> wrapper and sometimes NUL padding; XML wants neither.
    text = packet.replace(b"\x00", b"").strip()
    try:
        root = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise XmpError(f"XMP packet refused: it declares a DTD or XML entities "
                       f"({type(exc).__name__}), as entity-expansion attacks do") from exc
    except (ParseError, ValueError) as exc:
        raise XmpError(f"XMP packet is not well-formed XML: {exc}") from exc
    found: Properties = {}
    for description in root.iter(f"{{{RDF}}}Description"):
        for attribute, value in description.attrib.items():
            key = _split(attribute)
            if key and key[0] != RDF and value.strip():
                found.setdefault(key, value.strip())
        for child in description:
            key = _split(child.tag)
            value = _value(child)
            if key and key[0] != RDF and value:
                found.setdefault(key, value)
    return found


def _split(tag: str) -> tuple[str, str] | None:
    match = re.fullmatch(r"\{([^}]*)\}(.+)", tag)
    return (match.group(1), match.group(2)) if match else None


def _value(element: Element) -> str | list[str]:
    """Text of a simple property, the items of an rdf list ("x-default" first for rdf:Alt)."""
    for container in ("Seq", "Bag", "Alt"):
        listed = element.find(f"{{{RDF}}}{container}")
        if listed is not None:
            items = [li for li in listed.findall(f"{{{RDF}}}li") if (li.text or "").strip()]
            if container == "Alt":
                items.sort(key=lambda li: li.get(XML_LANG) != "x-default")
            return [(li.text or "").strip() for li in items]
    if len(element):  # a structure (rdf:parseType="Resource" and the like): not a plain fact
        return ""
    return (element.text or "").strip()


def _text(value: str | list[str]) -> str | None:
    text = value[0] if isinstance(value, list) and value else value
    return str(text)[:200] if text else None


def _texts(value: str | list[str]) -> list[str] | None:
    items = value if isinstance(value, list) else [v for v in value.split(",")]
    kept = [v.strip()[:100] for v in items if v.strip()][:50]
    return kept or None


def _joined(value: str | list[str]) -> str | None:
    items = _texts(value)
    return "; ".join(items)[:200] if items else None


def _number(value: str | list[str]) -> float | int | None:
    text = _text(value)
    try:
        if text and "/" in text:
            top, bottom = text.split("/", 1)
            number = float(top) / float(bottom)
        else:
            number = float(text or "")
    except (ValueError, ZeroDivisionError):
        return None
    if number != number or abs(number) == float("inf"):
        return None
    return int(number) if number.is_integer() else round(number, 3)


def _coordinate(value: str | list[str]) -> float | None:
    """XMP GPSCoordinate ("53,57.8064N" or "53,57,48.4N", or signed decimal) -> degrees."""
    text = (_text(value) or "").strip().upper()
    match = re.fullmatch(r"(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)(?:,(\d+(?:\.\d+)?))?([NSEW])", text)
    if match:
        degrees = float(match.group(1)) + float(match.group(2)) / 60
        degrees += float(match.group(3) or 0) / 3600
        return round(-degrees if match.group(4) in "SW" else degrees, 7)
    number = _number(text)
    return None if number is None else round(float(number), 7)


def _date(value: str | list[str]) -> tuple[str, str] | None:
    """ISO 8601 (XMP) -> ("YYYY:MM:DD HH:MM:SS" as EXIF writes it, "+HH:MM" offset or "")."""
    text = _text(value) or ""
    match = re.match(r"(\d{4})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d)(?::(\d\d))?(?:\.\d+)?"
                     r"(Z|[+-]\d\d:\d\d)?)?", text)
    if not match:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    if hour is None:
        return f"{year}:{month}:{day}", ""
    offset = "+00:00" if zone == "Z" else zone or ""
    return f"{year}:{month}:{day} {hour}:{minute}:{second or '00'}", offset


_FIELDS: list[tuple[str, list[tuple[str, str]], Callable[[str | list[str]], Any]]] = [
    ("Make", [(TIFF, "Make")], _text),
    ("Model", [(TIFF, "Model")], _text),
    ("LensModel", [(EXIF_EX, "LensModel"), (AUX, "Lens")], _text),
    ("DateTimeOriginal", [(EXIF, "DateTimeOriginal"), (PHOTOSHOP, "DateCreated"),
                          (XMP, "CreateDate")], _date),
    ("GPSLatitude", [(EXIF, "GPSLatitude")], _coordinate),
    ("GPSLongitude", [(EXIF, "GPSLongitude")], _coordinate),
    ("GPSAltitude", [(EXIF, "GPSAltitude")], _number),
    ("Rating", [(XMP, "Rating")], _number),
    ("Title", [(DC, "title"), (PHOTOSHOP, "Headline")], _text),
    ("ImageDescription", [(DC, "description")], _text),
    ("Keywords", [(DC, "subject")], _texts),
    ("Artist", [(DC, "creator")], _joined),
    ("Copyright", [(DC, "rights")], _text),
    ("City", [(PHOTOSHOP, "City")], _text),
    ("Location", [(IPTC_CORE, "Location")], _text),
    ("State", [(PHOTOSHOP, "State")], _text),
    ("Country", [(PHOTOSHOP, "Country")], _text),
    ("CountryCode", [(IPTC_CORE, "CountryCode")], _text),
]
