"""EPUB e-books: the chapters in reading (spine) order, with the title, author and language.

An EPUB is a zip of XHTML chapters listed by a package document (OPF). Both the container
and the package are parsed with entities refused; the zip is bounded (size, ratio, member
count) before anything is unpacked; a DRM-encrypted book is refused with that reason.
"""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from fileproc_dagster.describe.model import Description, ExtractOptions, Table
from fileproc_dagster.describe.web.common import local, parse_xml, summarise
from fileproc_dagster.describe.web.html import read_page
from fileproc_dagster.errors import BadInput

EPUB_MIME = "application/epub+zip"
_MAX_UNPACKED = 256 * 1024 * 1024
_MAX_RATIO = 100  # a member expanding more than this is a decompression bomb
_MAX_MEMBERS = 10_000
_MAX_CHAPTERS = 2_000
_CHAPTER_TYPES = {"application/xhtml+xml", "text/html", "application/x-dtbook+xml"}
_PROPERTIES = {"title": "title", "creator": "author", "subject": "subject",
               "date": "created", "language": "language", "publisher": "producer"}


def is_epub(names: set[str], archive: zipfile.ZipFile) -> bool:
    """An EPUB's zip has a ``mimetype`` member saying so, or its OCF container."""
    if "mimetype" in names:
        with archive.open("mimetype") as member:
            if member.read(64).strip() == EPUB_MIME.encode():
                return True
    return "META-INF/container.xml" in names and any(n.endswith(".opf") for n in names)


def describe_epub(path: Path, mime: str, options: ExtractOptions) -> Description:
    """An e-book's chapters in spine order, as text and as Markdown."""
    try:
        with zipfile.ZipFile(path) as archive:
            _check_bounds(archive)
            package_path = _package_path(archive)
            package = parse_xml(_read(archive, package_path), "EPUB package document")
            properties = _metadata(package)
            chapters = list(_spine(package, posixpath.dirname(package_path)))
            _refuse_drm(archive, chapters)
            read = [(name, read_page(_read(archive, name), main_content=False))
                    for name in chapters]
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BadInput(f"damaged EPUB (zip container): {exc}") from exc
    pages = [page for _, page in read if page.text.strip()]
    text = "\n\n".join(page.text for page in pages)
    markdown = "\n\n---\n\n".join(page.markdown for page in pages)
    tables = tuple(Table(f"{posixpath.basename(name)}: {table.name}", table.rows)
                   for name, page in read for table in page.tables)
    return summarise("EPUB e-book", mime, text, markdown=markdown, tables=tables,
                     properties=properties, chapters=len(pages), pages=len(pages))


def _check_bounds(archive: zipfile.ZipFile) -> None:
    members = archive.infolist()
    if len(members) > _MAX_MEMBERS:
        raise BadInput(f"EPUB has {len(members)} members, more than {_MAX_MEMBERS}")
    if sum(m.file_size for m in members) > _MAX_UNPACKED:
        raise BadInput(f"EPUB unpacks to more than {_MAX_UNPACKED // 2**20} MiB "
                       "(decompression bomb?)")
    for member in members:
        if member.file_size > 1_000_000 and member.file_size > _MAX_RATIO * max(
                member.compress_size, 1):
            raise BadInput(f"EPUB member {member.filename!r} expands {_MAX_RATIO}x or more "
                           "(decompression bomb?)")


def _read(archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError as exc:
        raise BadInput(f"EPUB lists {name!r}, which it does not contain") from exc
    if info.flag_bits & 0x1:
        raise BadInput("encrypted EPUB: its zip members need a password",
                       verdict="unsupported")
    return archive.read(info)


def _package_path(archive: zipfile.ZipFile) -> str:
    container = parse_xml(_read(archive, "META-INF/container.xml"), "EPUB container")
    for element in container.iter():
        if local(element.tag) == "rootfile" and element.get("full-path"):
            return element.get("full-path", "")
    raise BadInput("EPUB container names no package document (OPF)")


def _metadata(package: Any) -> dict[str, str]:
    properties: dict[str, str] = {}
    for element in package.iter():
        name = _PROPERTIES.get(local(element.tag))
        if name and "purl.org/dc" in str(element.tag):
            words = " ".join("".join(element.itertext()).split())
            if words and name not in properties:
                properties[name] = words
            elif words and name == "author" and words not in properties[name]:
                properties[name] += f", {words}"
    return properties


def _spine(package: Any, base: str) -> list[str]:
    manifest = {item.get("id"): item for item in package.iter()
                if local(item.tag) == "item" and item.get("id")}
    names: list[str] = []
    for ref in package.iter():
        if local(ref.tag) != "itemref":
            continue
        item = manifest.get(ref.get("idref"))
        if item is None or item.get("media-type") not in _CHAPTER_TYPES:
            continue
        href = unquote(item.get("href", "").split("#")[0])
        name = posixpath.normpath(posixpath.join(base, href))
        if name.startswith(("../", "/")) or name == "..":
            raise BadInput(f"EPUB chapter {href!r} points outside the book")
        if name not in names:
            names.append(name)
        if len(names) > _MAX_CHAPTERS:
            raise BadInput(f"EPUB has more than {_MAX_CHAPTERS} chapters")
    if not names:
        raise BadInput("EPUB has no chapters in its reading order (spine)")
    return names


def _refuse_drm(archive: zipfile.ZipFile, chapters: list[str]) -> None:
    """Font obfuscation is harmless; encrypted chapters cannot be read without the key."""
    if "META-INF/encryption.xml" not in archive.namelist():
        return
    encryption = parse_xml(_read(archive, "META-INF/encryption.xml"), "EPUB encryption list")
    locked = {unquote(ref.get("URI", "")) for ref in encryption.iter()
              if local(ref.tag) == "CipherReference"}
    if locked & set(chapters):
        raise BadInput("DRM-protected EPUB: its chapters are encrypted", verdict="unsupported")
