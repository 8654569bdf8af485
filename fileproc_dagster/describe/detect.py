"""What an uploaded file is, decided from its bytes (libmagic), never from its name.

Example::

    from pathlib import Path
    from fileproc_dagster.describe.detect import detect
    from fileproc_dagster.describe.model import ExtractOptions

    detect(Path("letter.png"), ExtractOptions())
    # Detection(kind=<FileKind.DOCUMENT>, mime='image/png', reason='PNG page image, 68 ...')

Files that cannot be processed raise ``BadInput`` with a reason a person can act on and a
verdict: ``invalid`` (empty, damaged, a decompression bomb) or ``unsupported`` (a well-formed
file of a kind we do not process: archives, web pages, video, encrypted PDFs).
"""

from __future__ import annotations

import logging
import mimetypes
import zipfile
from pathlib import Path

from fileproc_dagster.errors import BadInput
from fileproc_dagster.describe.model import DOCX_MIME, PDF_MIME, Detection, ExtractOptions, FileKind

log = logging.getLogger(__name__)

_ZIP_MIMES = {"application/zip", "application/x-zip-compressed", "application/x-zip", DOCX_MIME,
              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
              "application/vnd.openxmlformats-officedocument.presentationml.presentation"}
_AV_MIMES = {"application/ogg", "application/x-matroska", "application/mp4"}
_TEXT_MIMES = {"application/json", "application/csv", "application/x-ndjson"}
_UNSUPPORTED = {
    "text/html": "HTML web pages are not supported",
    "application/xhtml+xml": "HTML web pages are not supported",
    "text/xml": "XML files are not supported",
    "application/xml": "XML files are not supported",
    "image/svg+xml": "SVG drawings are not supported",
    "text/rtf": "RTF documents are not supported",
    "application/msword": "legacy Word .doc files are not supported (save as .docx or PDF)",
    **{mime: "archives are not unpacked" for mime in (
        "application/gzip", "application/x-tar", "application/x-7z-compressed",
        "application/x-rar", "application/vnd.rar", "application/x-bzip2", "application/x-xz")},
}


def detect(path: Path, options: ExtractOptions | None = None) -> Detection:
    """Kind, MIME type and reason for ``path`` from its content; BadInput if unprocessable."""
    options = options or ExtractOptions()
    size = path.stat().st_size
    if size == 0:
        raise BadInput("empty file (0 bytes)")
    # The checks' libraries are imported when a file needs them: the code location imports
    # this module, and a run worker loads only what its files' kinds use.
    import magic

    mime = magic.from_file(str(path), mime=True)
    log.debug("%s: libmagic says %s", path.name, mime)
    try:
        detection = _by_mime(path, mime, options)
    except BadInput as exc:
        raise BadInput(exc.reason + _name_note(path, mime), verdict=exc.verdict) from exc
    return Detection(detection.kind, detection.mime, detection.reason + _name_note(path, mime))


def _by_mime(path: Path, mime: str, options: ExtractOptions) -> Detection:
    if mime == PDF_MIME:
        return _pdf(path)
    if mime in _ZIP_MIMES:
        return _zip(path)
    if mime in _UNSUPPORTED:
        raise BadInput(_UNSUPPORTED[mime], verdict="unsupported")
    if mime.startswith("image/"):
        from fileproc_dagster.describe.probes import probe_picture

        return probe_picture(path, mime, options)
    if mime.startswith(("audio/", "video/")) or mime in _AV_MIMES:
        from fileproc_dagster.describe.audio_probe import probe_audio

        return probe_audio(path, mime)
    if mime.startswith("text/") or mime in _TEXT_MIMES:
        return Detection(FileKind.DOCUMENT, mime, "plain text")
    if mime in ("application/octet-stream", "application/x-empty"):
        raise BadInput("unrecognised content: no known file format signature (random or "
                       "damaged bytes?)")
    raise BadInput(f"{mime} files are not supported", verdict="unsupported")


def _pdf(path: Path) -> Detection:
    """A PDF must open and have pages: damaged and password-protected ones stop here."""
    from fileproc_dagster.describe.documents import open_pdf

    pdf = open_pdf(path)
    try:
        pages = len(pdf)
    finally:
        pdf.close()
    if pages == 0:
        raise BadInput("PDF has no pages")
    return Detection(FileKind.DOCUMENT, PDF_MIME,
                     f"PDF document, {pages} page{'s' if pages != 1 else ''}")


def _zip(path: Path) -> Detection:
    """.docx is a zip too: look inside rather than trusting the container type."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BadInput(f"damaged zip container: {exc}") from exc
    if "word/document.xml" in names:
        return Detection(FileKind.DOCUMENT, DOCX_MIME, "Word .docx document")
    if "xl/workbook.xml" in names:
        raise BadInput("Excel spreadsheets are not supported", verdict="unsupported")
    if "ppt/presentation.xml" in names:
        raise BadInput("PowerPoint presentations are not supported", verdict="unsupported")
    entries = f"{len(names)} entr{'y' if len(names) == 1 else 'ies'}"
    raise BadInput(f"zip archive ({entries}): archives are not unpacked",
                   verdict="unsupported")


def _name_note(path: Path, mime: str) -> str:
    """Say so when the name claims another type: useful to whoever uploaded it."""
    claimed, compression = mimetypes.guess_type(path.name)
    if not claimed or compression or _family(claimed) == _family(mime) \
            or _subtype(claimed) == _subtype(mime):
        return ""
    return f" (named {path.suffix}, but the content is {mime})"


def _subtype(mime: str) -> str:
    # One format under two top-level types (text/rtf and application/rtf, text/xml and
    # application/xml) or with and without ``x-`` is the format the name says.
    return mime.partition("/")[2].removeprefix("x-")


def _family(mime: str) -> str:
    if mime in _ZIP_MIMES:
        return "zip"
    if mime.startswith(("audio/", "video/")) or mime in _AV_MIMES:
        return "audio/video"
    if mime.startswith("text/") or mime in _TEXT_MIMES:
        return "text"
    return mime.split("/")[0] if mime.startswith("image/") else mime
