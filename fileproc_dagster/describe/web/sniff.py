"""Which text format a file is when libmagic only says ``text/plain`` or ``text/xml``.

libmagic has no signature for Markdown or YAML, and calls XHTML and SVG without their
namespace ``text/xml``: these probes look at the content and name the format that reads it.
A text that is not clearly one of them stays plain text.
"""

from __future__ import annotations

import re
from pathlib import Path

from fileproc_dagster.describe.model import Detection, ExtractOptions, FileKind

MARKDOWN_MIME = "text/markdown"
YAML_MIME = "application/yaml"
XHTML_MIME = "application/xhtml+xml"
SVG_MIME = "image/svg+xml"
JSON_MIME = "application/json"
_JSON_ENDS = {("{", "}"), ("[", "]")}
_HEAD_BYTES = 65_536

_MARKDOWN_SIGNS = {
    "heading": re.compile(r"^#{1,6}[ \t]+\S", re.MULTILINE),
    "setext": re.compile(r"^\S[^\n]*\n(?:=+|-{2,})[ \t]*$", re.MULTILINE),
    "fence": re.compile(r"^(?:```|~~~)", re.MULTILINE),
    "link": re.compile(r"!?\[[^\]\n]+\]\([^)\s]+(?:\s+\"[^\"]*\")?\)"),
    "table": re.compile(r"^\|?[ \t]*:?-{3,}:?[ \t]*\|", re.MULTILINE),
    "list": re.compile(r"^[ \t]{0,3}(?:[-*+]|\d{1,3}[.)])[ \t]+\S", re.MULTILINE),
    "emphasis": re.compile(r"(\*\*|__)\S[^\n]*?\S\1|`[^`\n]+`"),
}
_STRONG = {"heading", "setext", "fence", "link", "table"}
_YAML_KEY = re.compile(r"^[A-Za-z_][\w.-]*:(?:[ \t]|$)")
_YAML_LINE = re.compile(r"^(?:[ \t]+\S|-(?:[ \t]|$)|[A-Za-z_\"'][^:\n]*:(?:[ \t]|$))")
_ROOT = re.compile(rb"<(?![?!])(?:[\w.-]+:)?([\w.-]+)")


TSV_MIME = "text/tab-separated-values"


def probe_text(path: Path, mime: str, options: ExtractOptions) -> Detection:
    """Plain text, or JSON, YAML or Markdown when the content clearly is."""
    # libmagic calls short key: value lines CSV, and JSON it cannot parse (too long a line,
    # too deep) plain text.
    if mime not in ("text/plain", "text/csv"):
        return Detection(FileKind.DOCUMENT, mime, "plain text")
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES).decode("utf-8", errors="replace")
        handle.seek(max(0, path.stat().st_size - 256))
        tail = handle.read().decode("utf-8", errors="replace")
    if (head.lstrip("\ufeff \t\r\n")[:1], tail.rstrip()[-1:]) in _JSON_ENDS:
        return Detection(FileKind.DOCUMENT, JSON_MIME, "JSON data")
    if looks_like_yaml(head):
        return Detection(FileKind.DOCUMENT, YAML_MIME, "YAML data")
    signs = markdown_signs(head)
    if len(signs) >= 2 and signs & _STRONG:
        return Detection(FileKind.DOCUMENT, MARKDOWN_MIME,
                         f"Markdown text ({', '.join(sorted(signs))})")
    if mime == "text/csv":
        return Detection(FileKind.DOCUMENT, mime, "CSV table")
    if looks_like_tsv(head):
        return Detection(FileKind.DOCUMENT, TSV_MIME, "TSV table")
    return Detection(FileKind.DOCUMENT, mime, "plain text")


def looks_like_tsv(text: str) -> bool:
    """At least three lines, every one with the same number of tabs (one or more)."""
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if len(lines) < 3 or text.count("\n") < 3:
        return False
    lines = lines[:-1] if not text.endswith("\n") else lines  # the head may cut the last line
    tabs = {line.count("\t") for line in lines}
    return len(tabs) == 1 and tabs != {0}


def probe_xml(path: Path, mime: str, options: ExtractOptions) -> Detection:
    """XML, or an XHTML page or an SVG drawing by its root element."""
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    # Skip the prolog (declaration, comments, DOCTYPE) to the first element's name.
    body = re.sub(rb"<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>|<\?.*?\?>", b"", head,
                  flags=re.DOTALL)
    found = _ROOT.search(body)
    root = found.group(1).lower() if found else b""
    if root == b"html":
        return Detection(FileKind.DOCUMENT, XHTML_MIME, "XHTML web page")
    if root == b"svg":
        return Detection(FileKind.DOCUMENT, SVG_MIME, "SVG drawing")
    return Detection(FileKind.DOCUMENT, mime, f"XML data ({root.decode('ascii', 'replace')})"
                     if root else "XML data")


def markdown_signs(text: str) -> set[str]:
    """The kinds of Markdown syntax found in ``text``."""
    return {name for name, pattern in _MARKDOWN_SIGNS.items() if pattern.search(text)}


def looks_like_yaml(text: str) -> bool:
    """A mapping of ``key: value`` lines (or an explicit YAML document start) that loads."""
    lines = [line for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return False
    explicit = lines[0].startswith(("%YAML", "---"))
    keys = sum(1 for line in lines if _YAML_KEY.match(line))
    structural = sum(1 for line in lines if _YAML_LINE.match(line) or line.strip() == "---")
    if not explicit and (keys < 2 or structural < 0.9 * len(lines)):
        return False
    import yaml

    try:
        documents = list(yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader",
                                                            yaml.SafeLoader)))
    except (yaml.YAMLError, RecursionError):
        return False
    return any(isinstance(d, dict) and d for d in documents)
