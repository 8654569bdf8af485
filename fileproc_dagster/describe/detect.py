"""What an uploaded file is, decided from its bytes (libmagic), never from its name.

Example::

    from pathlib import Path
    from fileproc_dagster.describe.detect import detect
    from fileproc_dagster.describe.model import ExtractOptions

    detect(Path("letter.png"), ExtractOptions())
    # Detection(kind=<FileKind.DOCUMENT>, mime='image/png', reason='PNG page image, 68 ...')

Files that cannot be processed raise ``BadInput`` with a reason a person can act on and a
verdict: ``invalid`` (empty, damaged, a decompression bomb) or ``unsupported`` (a well-formed
file of a kind we do not process: archives, web pages, encrypted PDFs).
"""

from __future__ import annotations

import logging
import mimetypes
import zipfile
from pathlib import Path

from fileproc_dagster.describe.formats import for_mime
from fileproc_dagster.describe.model import (
    DOCX_MIME,
    PPTX_MIME,
    XLSX_MIME,
    Detection,
    ExtractOptions,
    FileKind,
)
from fileproc_dagster.describe.web.epub import EPUB_MIME, is_epub
from fileproc_dagster.errors import BadInput

log = logging.getLogger(__name__)

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
    found = for_mime(mime)
    if found is None:
        if mime in ("application/octet-stream", "application/x-empty"):
            raise BadInput("unrecognised content: no known file format signature (random or "
                           "damaged bytes?)")
        raise BadInput(f"{mime} files are not supported", verdict="unsupported")
    if found.unsupported:
        raise BadInput(found.unsupported, verdict="unsupported")
    if found.probe:
        return found.check()(path, mime, options)
    return Detection(found.kind, mime, found.name.lower())


def probe_zip(path: Path, mime: str, options: ExtractOptions) -> Detection:
    """.docx and .epub are zips too: look inside rather than trusting the container type."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            epub = is_epub(names, archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BadInput(f"damaged zip container: {exc}") from exc
    if "word/document.xml" in names:
        return Detection(FileKind.DOCUMENT, DOCX_MIME, "Word .docx document")
    if epub:
        return Detection(FileKind.DOCUMENT, EPUB_MIME, "EPUB e-book")
    if "xl/workbook.xml" in names:
        return Detection(FileKind.DOCUMENT, XLSX_MIME, "Excel .xlsx workbook")
    if "ppt/presentation.xml" in names:
        return Detection(FileKind.DOCUMENT, PPTX_MIME, "PowerPoint .pptx presentation")
    entries = f"{len(names)} entr{'y' if len(names) == 1 else 'ies'}"
    return Detection(FileKind.ARCHIVE, "application/zip", f"zip archive ({entries})")


def _name_note(path: Path, mime: str) -> str:
    """Say so when the name claims another type: useful to whoever uploaded it."""
    claimed, compression = mimetypes.guess_type(path.name)
    if not claimed or compression or _family(claimed) == _family(mime):
        return ""
    return f" (named {path.suffix}, but the content is {mime})"


def _family(mime: str) -> str:
    found = for_mime(mime)
    return (found.family or found.name) if found else mime
