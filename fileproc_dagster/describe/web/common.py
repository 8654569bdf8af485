"""What the web and data readers share: size caps, safe XML parsing and the summary."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from fileproc_dagster.describe.model import Description, Table, snippet
from fileproc_dagster.errors import BadInput

log = logging.getLogger(__name__)

MAX_BYTES = 32 * 1024 * 1024  # a page, a book chapter or a data file larger than this is refused
MAX_TEXT_CHARS = 4_000_000  # flattened data beyond this is cut (the record says so)


def read_capped(path: Path, what: str, limit: int = MAX_BYTES) -> bytes:
    """The file's bytes, or BadInput when it is larger than ``limit``."""
    if path.stat().st_size > limit:
        raise BadInput(f"{what} larger than {limit // 2**20} MiB")
    return path.read_bytes()


def parse_xml(data: bytes, what: str) -> Element:
    """Parse XML with entity declarations and external references refused (defusedxml).

    A DOCTYPE naming a DTD is allowed (SVG files carry one) but never fetched; a declared
    entity (billion laughs) or an external one (a local file, a URL) ends in BadInput.
    """
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException

    try:
        root: Element = SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True,
                                          forbid_external=True)
        return root
    except DefusedXmlException as exc:
        raise BadInput(f"{what} declares entities or external references, which are refused "
                       f"({type(exc).__name__})") from exc
    except SafeET.ParseError as exc:
        raise BadInput(f"{what} is not well-formed XML: {exc}") from exc
    except RecursionError as exc:
        raise BadInput(f"{what} is nested too deeply to read") from exc


def local(tag: object) -> str:
    """An element's name without its namespace (``{http://www.w3.org/2000/svg}text``: text)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def summarise(kind: str, mime: str, text: str, *, markdown: str = "",
              tables: tuple[Table, ...] = (), properties: dict[str, Any] | None = None,
              language_text: str | None = None, **extra: Any) -> Description:
    """A Description with the fields every document reader fills (words, chars, language)."""
    from fileproc_dagster.describe.ocr.languages import language_details

    words = len(text.split())
    properties = {k: v for k, v in (properties or {}).items() if v}
    details: dict[str, Any] = {"kind": kind, "mime": mime, "pages": 1, "source": "text",
                               "words": words, "chars": len(text), **extra}
    detected = language_details([], language_text if language_text is not None else text,
                                "auto")
    details.update(detected)
    if "language" not in properties and "language" in detected:
        properties["language"] = detected["language"]
    if properties:
        details["properties"] = properties
    if tables:
        details["tables"] = len(tables)
    summary = f"{kind}, {words} words"
    if tables:
        summary += f", {len(tables)} table{'s' if len(tables) != 1 else ''}"
    head = properties.get("title") or text
    description = f"{summary}: {snippet(str(head))}" if head else f"{summary}: no text found"
    log.info("%s", description)
    return Description(description=description, text=text, details=details,
                       markdown=markdown, tables=tables)

