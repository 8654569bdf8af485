"""RTF documents: their text (striprtf, BSD) and the \\info group's properties.

Example::

    from fileproc_dagster.describe.office.rtf import describe_rtf

    describe_rtf(Path("memo.rtf"), "text/rtf", ExtractOptions()).text  # 'Quarterly minutes ...'
"""

from __future__ import annotations

import re
from pathlib import Path

from fileproc_dagster.describe.model import Description, ExtractOptions
from fileproc_dagster.describe.office.package import summarise
from fileproc_dagster.errors import BadInput

MAX_RTF_BYTES = 32 * 1024 * 1024
MAX_DEPTH = 1_000  # group nesting: real documents stay in the tens
_INFO = {"title": "title", "author": "author", "subject": "subject", "producer": "operator"}
_DATES = {"created": "creatim", "modified": "revtim"}
_DATE_PARTS = re.compile(r"\\(yr|mo|dy|hr|min)(\d+)")


def describe_rtf(path: Path, mime: str, options: ExtractOptions) -> Description:
    """An RTF document's plain text and its title, author and dates."""
    if path.stat().st_size > MAX_RTF_BYTES:
        raise BadInput(f"RTF document larger than {MAX_RTF_BYTES // 2**20} MiB")
    raw = path.read_bytes()
    if not raw.lstrip().startswith(b"{\\rtf"):
        raise BadInput("not an RTF document: it does not start with {\\rtf")
    source = raw.decode("latin-1")  # RTF is 7-bit; other characters come as escapes
    _check_nesting(source)
    from striprtf.striprtf import rtf_to_text

    try:
        text: str = rtf_to_text(source, errors="replace")  # type: ignore[no-untyped-call]
    except Exception as exc:  # striprtf raises plain errors for a damaged document
        raise BadInput(f"not a readable RTF document (damaged): {exc}") from exc
    text = "\n".join(line.rstrip() for line in text.replace("\r", "").split("\n")).strip()
    return summarise("RTF document", mime, text, text, counts={},
                     properties=_properties(source))


def _check_nesting(source: str) -> None:
    depth = deepest = 0
    escaped = False
    for ch in source:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == "}":
            depth -= 1
    if deepest > MAX_DEPTH:
        raise BadInput(f"RTF groups nested {deepest} deep, more than the limit of {MAX_DEPTH}")


def _properties(source: str) -> dict[str, str]:
    block = _group(source, source.find("{\\info"))
    found: dict[str, str] = {}
    for key, word in _INFO.items():
        match = re.search(r"\{\\" + word + r"\s([^{}]*)\}", block)
        if match and match.group(1).strip():
            found[key] = _unescape(match.group(1).strip())
    for key, word in _DATES.items():
        match = re.search(r"\{\\" + word + r"((?:\\(?:yr|mo|dy|hr|min)\d+)+)\}", block)
        if match:
            parts = dict(_DATE_PARTS.findall(match.group(1)))
            found[key] = (f"{int(parts.get('yr', 0)):04d}-{int(parts.get('mo', 1)):02d}-"
                          f"{int(parts.get('dy', 1)):02d}T{int(parts.get('hr', 0)):02d}:"
                          f"{int(parts.get('min', 0)):02d}:00")
    return found


def _group(source: str, start: int) -> str:
    """The text of the brace group opening at ``start`` (empty if there is none)."""
    if start < 0:
        return ""
    depth = 0
    for index in range(start, min(len(source), start + 100_000)):
        ch = source[index]
        if ch == "{" and source[index - 1] != "\\":
            depth += 1
        elif ch == "}" and source[index - 1] != "\\":
            depth -= 1
            if depth == 0:
                return source[start:index + 1]
    return ""


def _unescape(text: str) -> str:
    text = re.sub(r"\\'([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]).decode("cp1252",
                                                                                     "replace"),
                  text)
    return re.sub(r"\\u(-?\d+)\??", lambda m: chr(int(m.group(1)) % 65536), text)
