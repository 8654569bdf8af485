"""Every file format we know, in one list: how it is recognised, what reads it, what it costs.

Detection (``detect.py``), the extraction (``describe``), the worker pool's ordering, the
``has_text`` check, the CLI's ``--type`` choices and the table of formats in the docs all
read :data:`FORMATS`. Adding a format is one entry here, one reader module and its tests.

A format is found by the MIME type libmagic reads from the file's bytes: an exact type
first, then a family (``image/*``). Its ``probe`` may look further into the content and
decide the kind (a scanned page or a photo; a zip that is really a Word file); its ``reader``
turns the file into a :class:`~fileproc_dagster.describe.model.Description`. Both are named
as ``"module:function"`` and imported when a file needs them, so a worker loads only the
libraries of the formats it meets.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fileproc_dagster.describe.model import DOCX_MIME, PDF_MIME, FileKind

if TYPE_CHECKING:
    from fileproc_dagster.describe.model import Description, Detection, ExtractOptions

    Reader = Callable[[Path, str, ExtractOptions], Description]
    Probe = Callable[[Path, str, ExtractOptions], Detection]

_DOCUMENTS = "fileproc_dagster.describe.documents.describe"
_OFFICE = "fileproc_dagster.describe.office"
_WEB = "fileproc_dagster.describe.web"
_CONTAINERS = "fileproc_dagster.describe.containers"
_ZIP = ("application/zip", "application/x-zip-compressed", "application/x-zip")
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
_ODF = "application/vnd.oasis.opendocument"


@dataclass(frozen=True)
class Cost:
    """Expected seconds of a file's extraction from what is known before it: its MIME type
    and size. ``base_s`` plus ``s_per_unit`` for each ``bytes_per_unit`` bytes (a page of a
    PDF, a second of audio), the latter by MIME type where formats differ."""

    base_s: float
    s_per_unit: float = 0.0
    bytes_per_unit: float = 1.0
    bytes_per_unit_by_mime: dict[str, float] = field(default_factory=dict)

    def seconds(self, mime: str, size: int) -> float:
        rate = self.bytes_per_unit_by_mime.get(mime, self.bytes_per_unit)
        return self.base_s + self.s_per_unit * size / rate


# Seconds on the development corpus (2 cores, whisper tiny.en). Transcription takes about
# 0.09 s per second of audio, read from the size at the format's usual bytes per second; OCR
# about 1.5 s per page, a PDF about one scanned page per 400 KB; photos about 0.1 s plus
# 1 s per MB (decoding); text and office documents next to nothing.
OCR_PAGE = Cost(1.5)
PDF_PAGES = Cost(0.05, s_per_unit=1.5, bytes_per_unit=400_000)
PHOTO = Cost(0.1, s_per_unit=1.0, bytes_per_unit=1e6)
RECORDING = Cost(1.0, s_per_unit=0.09, bytes_per_unit=8_000, bytes_per_unit_by_mime={
    "audio/x-wav": 32_000, "audio/wav": 32_000, "audio/flac": 16_000})
TEXT = Cost(0.05, s_per_unit=1.0, bytes_per_unit=1e7)
# A video: its sound transcribed as a recording's (phone video carries about 2 MB a second),
# plus a second or so for the keyframes' decoding and tags.
VIDEO = Cost(1.5, s_per_unit=0.09, bytes_per_unit=2e6,
             bytes_per_unit_by_mime={"video/webm": 250_000, "video/x-matroska": 500_000})


@dataclass(frozen=True)
class Format:
    """One file format: its kind and MIME types, and the functions that check and read it.

    ``mimes`` are exact types or families (``"image/*"``). ``unsupported`` is the reason a
    known format is refused (a person can act on it); such a format has no reader.
    ``text_expected``: the ``has_text`` check warns when such a file yields no words.
    ``family`` groups formats whose names may stand for each other (a ``.docx`` that libmagic
    calls a zip) when detection compares the name with the content. A ``container`` (an
    archive, a mail) is opened into members, each registered as an upload of its own.
    """

    name: str
    kind: FileKind
    mimes: tuple[str, ...]
    extensions: tuple[str, ...] = ()
    reader: str = ""
    probe: str = ""
    cost: Cost = TEXT
    text_expected: bool = True
    unsupported: str = ""
    family: str = ""
    container: bool = False

    def matches(self, mime: str) -> bool:
        return mime in self.mimes or any(
            pattern.endswith("/*") and mime.startswith(pattern[:-1]) for pattern in self.mimes)

    def read(self) -> Reader:
        reader: Reader = _function(self.reader)
        return reader

    def check(self) -> Probe:
        probe: Probe = _function(self.probe)
        return probe


def _refused(name: str, mimes: tuple[str, ...], reason: str, extensions: tuple[str, ...] = (),
             family: str = "") -> Format:
    return Format(name, FileKind.UNSUPPORTED, mimes, extensions, unsupported=reason,
                  family=family)


FORMATS: tuple[Format, ...] = (
    Format("PDF", FileKind.DOCUMENT, (PDF_MIME,), (".pdf",),
           reader=f"{_DOCUMENTS}:describe_pdf", probe=f"{_DOCUMENTS}:probe_pdf", cost=PDF_PAGES),
    # Office documents (describe/office/): one block, in the registry's order of matching.
    Format("Word document", FileKind.DOCUMENT, (DOCX_MIME, *_ZIP), (".docx",),
           reader=f"{_OFFICE}.word:describe_docx",
           probe="fileproc_dagster.describe.detect:probe_zip", family="zip"),
    Format("Excel spreadsheet", FileKind.DOCUMENT, (_XLSX,), (".xlsx",),
           reader=f"{_OFFICE}.sheets:describe_spreadsheet", family="zip"),
    Format("Legacy Excel spreadsheet", FileKind.DOCUMENT, ("application/vnd.ms-excel",),
           (".xls",), reader=f"{_OFFICE}.sheets:describe_spreadsheet", family="ole"),
    Format("OpenDocument spreadsheet", FileKind.DOCUMENT, (f"{_ODF}.spreadsheet",), (".ods",),
           reader=f"{_OFFICE}.sheets:describe_spreadsheet", family="zip"),
    Format("PowerPoint presentation", FileKind.DOCUMENT, (_PPTX,), (".pptx",),
           reader=f"{_OFFICE}.slides:describe_pptx", family="zip"),
    Format("OpenDocument text", FileKind.DOCUMENT, (f"{_ODF}.text",), (".odt",),
           reader=f"{_OFFICE}.opendocument:describe_odf", family="zip"),
    Format("OpenDocument presentation", FileKind.DOCUMENT, (f"{_ODF}.presentation",),
           (".odp",), reader=f"{_OFFICE}.opendocument:describe_odf", family="zip"),
    Format("RTF document", FileKind.DOCUMENT, ("text/rtf", "application/rtf"), (".rtf",),
           reader=f"{_OFFICE}.rtf:describe_rtf"),
    Format("CSV/TSV table", FileKind.DOCUMENT,
           ("text/csv", "application/csv", "text/tab-separated-values"), (".csv", ".tsv"),
           reader=f"{_OFFICE}.delimited:describe_delimited", probe=f"{_WEB}.sniff:probe_text",
           family="text"),
    _refused("Legacy Word document", ("application/msword",),
             "legacy Word .doc files are not supported: no well-kept library reads them "
             "offline (save as .docx or PDF)", (".doc",), family="ole"),
    _refused("Legacy PowerPoint presentation", ("application/vnd.ms-powerpoint",),
             "legacy PowerPoint .ppt files are not supported: no well-kept library reads them "
             "offline (save as .pptx or PDF)", (".ppt",), family="ole"),
    _refused("Encrypted Office document", ("application/encrypted",),
             "encrypted Office document: a password is needed to read it",
             (".docx", ".xlsx", ".pptx"), family="ole"),
    # Web and data formats (describe/web/): main text, Markdown, properties, tables.
    Format("Web page", FileKind.DOCUMENT, ("text/html", "application/xhtml+xml"),
           (".html", ".htm", ".xhtml"), reader=f"{_WEB}.html:describe_html", family="web"),
    Format("XML", FileKind.DOCUMENT, ("text/xml", "application/xml"), (".xml",),
           reader=f"{_WEB}.data:describe_xml", probe=f"{_WEB}.sniff:probe_xml", family="web"),
    Format("SVG drawing", FileKind.DOCUMENT, ("image/svg+xml",), (".svg",),
           reader=f"{_WEB}.svg:describe_svg", text_expected=False, family="web"),
    Format("EPUB e-book", FileKind.DOCUMENT, ("application/epub+zip",), (".epub",),
           reader=f"{_WEB}.epub:describe_epub", family="zip"),
    Format("Markdown", FileKind.DOCUMENT, ("text/markdown", "text/x-markdown"), (".md",),
           reader=f"{_WEB}.markdown:describe_markdown", family="text"),
    Format("JSON", FileKind.DOCUMENT, ("application/json",), (".json",),
           reader=f"{_WEB}.data:describe_json", family="text"),
    Format("YAML", FileKind.DOCUMENT,
           ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"),
           (".yaml", ".yml"), reader=f"{_WEB}.data:describe_yaml", family="text"),
    # Containers: each member or attachment becomes an upload of its own (describe/containers/).
    Format("ZIP archive", FileKind.ARCHIVE, _ZIP, (".zip",),
           reader=f"{_CONTAINERS}:describe_archive",
           probe="fileproc_dagster.describe.detect:probe_zip", text_expected=False,
           container=True, family="zip"),
    Format("Archive", FileKind.ARCHIVE, ("application/gzip", "application/x-gzip",
                                         "application/x-tar", "application/x-7z-compressed",
                                         "application/x-bzip2", "application/x-xz"),
           (".tar", ".gz", ".tgz", ".7z", ".bz2", ".xz"),
           reader=f"{_CONTAINERS}:describe_archive",
           text_expected=False, container=True),
    _refused("RAR archive", ("application/x-rar", "application/vnd.rar"),
             "RAR archives are not unpacked (no free library reads them): repack as zip or 7z",
             (".rar",)),
    Format("E-mail", FileKind.DOCUMENT, ("message/rfc822",), (".eml",),
           reader=f"{_CONTAINERS}:describe_mail", container=True),
    Format("Outlook message", FileKind.DOCUMENT, ("application/vnd.ms-outlook",), (".msg",),
           reader=f"{_CONTAINERS}:describe_mail", container=True),
    # A picture is a scanned page or a photo: the probe reads it and decides the kind.
    Format("Page image", FileKind.DOCUMENT, ("image/*",), (".png", ".tif", ".tiff", ".jpg"),
           reader=f"{_DOCUMENTS}:describe_page_image",
           probe="fileproc_dagster.describe.images.probes:probe_picture", cost=OCR_PAGE,
           family="image"),
    Format("Photo", FileKind.IMAGE, ("image/*",),
           (".jpg", ".jpeg", ".png", ".webp", ".gif", ".heic", ".heif", ".avif", ".tif"),
           reader="fileproc_dagster.describe.images.describe:describe_photo",
           probe="fileproc_dagster.describe.images.probes:probe_picture", cost=PHOTO,
           text_expected=False, family="image"),
    # A recording's container may also hold pictures (and a video's only sound): the probes
    # look at the streams and hand the file to each other.
    Format("Recording", FileKind.AUDIO, ("audio/*", "application/ogg"),
           (".wav", ".mp3", ".flac", ".ogg", ".m4a", ".opus"),
           reader="fileproc_dagster.describe.audio.describe:describe_recording",
           probe="fileproc_dagster.describe.audio.probe:probe_audio", cost=RECORDING,
           family="media"),
    Format("Video", FileKind.VIDEO, ("video/*", "application/x-matroska", "application/mp4"),
           (".mp4", ".mov", ".mkv", ".webm", ".m4v"),
           reader="fileproc_dagster.describe.video.describe:describe_video",
           probe="fileproc_dagster.describe.video.probe:probe_video", cost=VIDEO,
           text_expected=False, family="media"),
    # Markdown and YAML are text/plain to libmagic: the probe tells them apart by content.
    Format("Plain text", FileKind.DOCUMENT,
           ("text/*", "application/csv", "application/x-ndjson"),
           (".txt", ".csv", ".log"), reader=f"{_DOCUMENTS}:describe_text",
           probe=f"{_WEB}.sniff:probe_text", family="text"),
)


def for_mime(mime: str, kind: FileKind | None = None) -> Format | None:
    """The format of a MIME type (of that kind, if given): an exact type before a family."""
    mime = mime.split(";")[0].strip().lower()
    found = [f for f in FORMATS if mime in f.mimes] or [f for f in FORMATS if f.matches(mime)]
    return next((f for f in found if kind is None or f.kind is kind), None)


def expected_seconds(kind: FileKind, mime: str, size: int) -> float:
    """A rough guess of how long a file's extraction takes, to order a run's files by."""
    found = for_mime(mime, kind)
    return (found.cost if found else TEXT).seconds(mime, size)


def text_expected(kind: str | None, mime: str | None) -> bool:
    """Whether a described file of this kind and type should yield some text."""
    if kind not in set(FileKind):
        return True
    found = for_mime(mime or "", FileKind(kind))
    return found.text_expected if found else kind != FileKind.IMAGE


def is_container(kind: str | None, mime: str | None) -> bool:
    """Whether files of this kind and type are opened into members (archives, mails)."""
    if kind not in set(FileKind):
        return False
    found = for_mime(mime or "", FileKind(kind))
    return bool(found and found.container)


def kinds() -> list[str]:
    """The kinds a file's record can have (``unsupported``: refused)."""
    return [str(kind) for kind in FileKind if any(f.kind is kind for f in FORMATS)]


def rows() -> list[dict[str, str]]:
    """The registry as a table (``fileproc formats`` and docs/formats.md)."""
    return [{"format": f.name, "kind": str(f.kind), "types": ", ".join(f.mimes),
             "extensions": " ".join(f.extensions),
             "read as": f"refused: {f.unsupported}" if f.unsupported else
                        f"{f.kind}, text {'expected' if f.text_expected else 'optional'}"
                        + (", members as files of their own" if f.container else "")}
            for f in FORMATS]


def markdown_table() -> str:
    """:func:`rows` as a Markdown table."""
    table = rows()
    header = list(table[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row[c].replace("|", "\\|") for c in header) + " |"
              for row in table]
    return "\n".join(lines) + "\n"


def _function(name: str) -> Any:
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)
