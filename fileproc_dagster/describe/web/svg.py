"""SVG drawings: the words in them (titles, descriptions, text elements), never rendered.

The drawing is parsed as XML with entities refused; nothing it links (images, fonts,
stylesheets, ``<use>`` of other files) is fetched, and scripts are skipped.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element

from fileproc_dagster.describe.model import Description, ExtractOptions
from fileproc_dagster.describe.web.common import local, parse_xml, read_capped, summarise

_SKIPPED = {"script", "style"}
_WORDS = {"text", "title", "desc", "flowRoot"}
_DUBLIN_CORE = {"title": "title", "creator": "author", "description": "subject",
                "date": "created", "language": "language", "publisher": "producer"}


def describe_svg(path: Path, mime: str, options: ExtractOptions) -> Description:
    """An SVG drawing's words, in document order, and its title."""
    root = parse_xml(read_capped(path, "SVG drawing"), "SVG drawing")
    lines: list[str] = []
    _collect(root, lines)
    properties: dict[str, str] = {}
    for element in root:
        if local(element.tag) == "title" and _words(element):
            properties["title"] = _words(element)
    for element in root.iter():
        name = _DUBLIN_CORE.get(local(element.tag))
        words = _words(element)
        if name and words and name not in properties and "purl.org/dc" in str(element.tag):
            properties[name] = words
    text = "\n".join(lines)
    return summarise("SVG drawing", mime, text, properties=properties,
                     width=root.get("width", ""), height=root.get("height", ""),
                     text_elements=len(lines))


def _collect(element: Element, lines: list[str]) -> None:
    # Iterative: a hostile drawing can nest groups far past Python's recursion limit.
    stack = [element]
    while stack:
        current = stack.pop()
        name = local(current.tag)
        if name in _SKIPPED or name == "metadata":
            continue
        if name in _WORDS:
            words = _words(current)
            if words:
                lines.append(words)
            continue
        stack.extend(reversed([c for c in current if isinstance(c.tag, str)]))


def _words(element: Element) -> str:
    return " ".join(" ".join(element.itertext()).split())
