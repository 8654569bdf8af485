"""XMP and IPTC beside EXIF: pictures made here, the merge precedence, hostile packets."""

from __future__ import annotations

import io
import json
import resource
import struct
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

from fileproc_dagster.describe.images.describe import describe_image
from fileproc_dagster.describe.images.metadata import merge
from fileproc_dagster.describe.images.xmp import MAX_PACKET_BYTES
from fileproc_dagster.describe.model import ExtractOptions
from fileproc_dagster.errors import BadInput

OPTIONS = ExtractOptions()
_NS = ('xmlns:tiff="http://ns.adobe.com/tiff/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
       'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
       'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
       'xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"')


def xmp(attributes: str, elements: str = "") -> str:
    """An XMP packet as cameras and editors write it, with one rdf:Description."""
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description rdf:about="" {_NS} {attributes}>{elements}</rdf:Description>'
            '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>')


CAMERA_XMP = xmp(
    'tiff:Make="Google" tiff:Model="Pixel 7" exif:DateTimeOriginal="2021-07-04T09:15:30+02:00" '
    'exif:GPSLatitude="48,51.5040N" exif:GPSLongitude="2,17.2680W" exif:GPSAltitude="35/1" '
    'xmp:Rating="4" photoshop:City="Paris" photoshop:Country="France" '
    'Iptc4xmpCore:CountryCode="FR"',
    '<dc:title><rdf:Alt><rdf:li xml:lang="fr">La tour</rdf:li>'
    '<rdf:li xml:lang="x-default">The tower</rdf:li></rdf:Alt></dc:title>'
    '<dc:subject><rdf:Bag><rdf:li>tower</rdf:li><rdf:li>holiday</rdf:li></rdf:Bag></dc:subject>'
    '<dc:creator><rdf:Seq><rdf:li>A. Photographer</rdf:li></rdf:Seq></dc:creator>')


def png_with_xmp(path: Path, packet: str, *, compressed: bool = False) -> Path:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet, zip=compressed)
    Image.new("RGB", (320, 200), (90, 140, 200)).save(path, pnginfo=info)
    return path


def jpeg_with(path: Path, *, exif: Image.Exif | None = None, xmp_packet: str = "",
              iptc: dict[tuple[int, int], list[str]] | None = None) -> Path:
    """A JPEG with any of EXIF, XMP (Pillow writes both) and an IPTC-IIM block (APP13)."""
    out = io.BytesIO()
    Image.new("RGB", (300, 200), (120, 160, 90)).save(
        out, "JPEG", exif=exif or Image.Exif(), xmp=xmp_packet.encode())
    data = out.getvalue()
    if iptc:
        data = data[:2] + _app13(iptc) + data[2:]
    path.write_bytes(data)
    return path


def _app13(datasets: dict[tuple[int, int], list[str]]) -> bytes:
    iim = b"".join(bytes([0x1C, record, number]) + struct.pack(">H", len(raw)) + raw
                   for (record, number), values in datasets.items()
                   for raw in (v.encode() for v in values))
    iim += b"\0" * (len(iim) % 2)
    block = b"8BIM" + struct.pack(">H", 0x0404) + b"\0\0" + struct.pack(">I", len(iim)) + iim
    body = b"Photoshop 3.0\0" + block
    return b"\xff\xed" + struct.pack(">H", len(body) + 2) + body


def _camera_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "Canon EOS 80D"  # Make, Model
    exif.get_ifd(0x8769)[0x9003] = "2019:03:02 11:22:33"  # DateTimeOriginal
    return exif


IPTC_PLACE = {(1, 90): ["\x1b%G"], (2, 5): ["Marktplatz"], (2, 25): ["market", "Brücke"],
              (2, 55): ["20190521"], (2, 60): ["101500+0200"], (2, 90): ["München"],
              (2, 101): ["Germany"], (2, 80): ["B. Fotografin"]}

# (name, picture maker, merged facts expected, their sources, description contains)
CASES: list[tuple[str, Any, dict[str, Any], dict[str, str], str]] = [
    ("png-xmp-only", lambda p: png_with_xmp(p, CAMERA_XMP),
     {"Make": "Google", "Model": "Pixel 7", "DateTimeOriginal": "2021:07:04 09:15:30",
      "OffsetTimeOriginal": "+02:00", "GPSLatitude": 48.8584, "GPSLongitude": -2.2878,
      "GPSAltitude": 35, "Rating": 4, "Title": "The tower", "Keywords": ["tower", "holiday"],
      "Artist": "A. Photographer", "City": "Paris", "Country": "France", "CountryCode": "FR"},
     {"Make": "xmp", "GPSLatitude": "xmp", "GPSAltitude": "xmp", "Keywords": "xmp"},
     "PNG photo 320x200, Google Pixel 7, 2021-07-04 09:15, GPS 48.85840,-2.28780"),
    ("jpeg-iptc-only", lambda p: jpeg_with(p, iptc=IPTC_PLACE),
     {"DateTimeOriginal": "2019:05:21 10:15:00", "OffsetTimeOriginal": "+02:00",
      "Title": "Marktplatz", "Keywords": ["market", "Brücke"], "City": "München",
      "Country": "Germany", "Artist": "B. Fotografin"},
     {"DateTimeOriginal": "iptc", "City": "iptc", "Keywords": "iptc"},
     "JPEG image 300x200, 2019-05-21 10:15"),
    # EXIF wins for the camera and the time, XMP for what EXIF lacks, IPTC after XMP.
    ("jpeg-all-three", lambda p: jpeg_with(p, exif=_camera_exif(), xmp_packet=CAMERA_XMP,
                                           iptc=IPTC_PLACE),
     {"Make": "Canon", "Model": "Canon EOS 80D", "DateTimeOriginal": "2019:03:02 11:22:33",
      "GPSLatitude": 48.8584, "City": "Paris", "Title": "The tower",
      "Artist": "A. Photographer"},
     {"Make": "exif", "DateTimeOriginal": "exif", "GPSLatitude": "xmp", "City": "xmp",
      "Title": "xmp"},
     "JPEG photo 300x200, Canon EOS 80D, 2019-03-02 11:22, GPS 48.85840,-2.28780"),
]


@pytest.mark.parametrize(("name", "make", "facts", "sources", "line"), CASES,
                         ids=[c[0] for c in CASES])
def test_metadata_is_read_merged_and_attributed(
        tmp_path: Path, name: str, make: Any, facts: dict[str, Any], sources: dict[str, str],
        line: str) -> None:
    result = describe_image(make(tmp_path / f"{name}.{name.split('-')[0]}"), OPTIONS)
    details = result.details
    json.dumps(details)
    for key, want in facts.items():
        assert details["metadata"].get(key) == want, key
    for key, source in sources.items():
        assert details["metadata_sources"][key] == source, key
    assert set(details["metadata_sources"]) == set(details["metadata"])
    assert result.description.startswith(line), result.description
    assert "metadata_warnings" not in details


def test_exif_only_picture_is_unchanged(tmp_path: Path) -> None:
    details = describe_image(jpeg_with(tmp_path / "e.jpg", exif=_camera_exif()), OPTIONS).details
    assert "xmp" not in details and "iptc" not in details
    assert set(details["metadata_sources"].values()) == {"exif"}
    assert details["metadata"]["Model"] == details["exif"]["Model"] == "Canon EOS 80D"


@pytest.mark.parametrize(("raw", "shown"), [(b"\x8c", None), (b"\x01\x02 \x7f", None),
                                            (b"Canon\x8c\x00", "Canon")])
def test_exif_text_of_control_characters_is_dropped(tmp_path: Path, raw: bytes,
                                                    shown: str | None) -> None:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = raw, "EOS 80D"  # Make as a camera wrote it, Model
    result = describe_image(jpeg_with(tmp_path / "camera.jpg", exif=exif), OPTIONS)
    details = result.details
    assert details["exif"].get("Make") == details["metadata"].get("Make") == shown
    assert details["metadata"]["Model"] == "EOS 80D"
    written = json.dumps(details, ensure_ascii=False) + result.description
    assert not any(0x7F <= ord(c) <= 0x9F or ord(c) < 0x20 for c in written)


def test_gps_is_never_assembled_from_two_sources() -> None:
    merged, sources = merge({"exif": {"GPSLatitude": 10.0},  # no longitude: incomplete
                             "xmp": {"GPSLatitude": 48.1, "GPSLongitude": 11.5}})
    assert (merged["GPSLatitude"], merged["GPSLongitude"]) == (48.1, 11.5)
    assert sources["GPSLatitude"] == sources["GPSLongitude"] == "xmp"


def _laughs(levels: int = 9) -> str:
    entities = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">'
                       for i in range(levels + 1))
    return (f'<?xml version="1.0"?><!DOCTYPE x [{entities}]>'
            f'<x:xmpmeta xmlns:x="adobe:ns:meta/">&l{levels};</x:xmpmeta>')


# (name, packet, warning expected) — each must end fast, small, with the picture described.
HOSTILE = [
    ("billion-laughs", _laughs(), "declares a DTD or XML entities"),
    ("external-entity", '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                        '<x:xmpmeta xmlns:x="adobe:ns:meta/">&e;</x:xmpmeta>',
     "declares a DTD or XML entities"),
    ("huge-packet", xmp('tiff:Make="Big"', "<dc:description>" + "a" * MAX_PACKET_BYTES
                        + "</dc:description>"), "over the limit"),
    ("not-xml", "<x:xmpmeta><rdf:RDF", "not well-formed XML"),
]


@pytest.mark.parametrize(("name", "packet", "warning"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_xmp_gives_a_warning_not_a_hang(tmp_path: Path, name: str, packet: str,
                                                warning: str) -> None:
    path = png_with_xmp(tmp_path / f"{name}.png", packet)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    result = describe_image(path, OPTIONS)
    assert time.monotonic() - started < 10
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 100
    assert any(warning in w for w in result.details["metadata_warnings"])
    assert result.details["metadata"] == {} and "etc/passwd" not in json.dumps(result.details)
    assert result.description.startswith("PNG image 320x200")


def test_compressed_xmp_bomb_is_refused_with_a_reason(tmp_path: Path) -> None:
    packet = xmp("", "<dc:description>" + "a" * 30_000_000 + "</dc:description>")
    path = png_with_xmp(tmp_path / "bomb.png", packet, compressed=True)
    assert path.stat().st_size < 200_000
    with pytest.raises(BadInput, match="decompression bomb refused: the picture's text metadata"):
        describe_image(path, OPTIONS)
