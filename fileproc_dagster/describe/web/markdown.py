"""Markdown files: the text as written (it is its own Markdown), its tables and its title.

A YAML front matter block (``---`` ... ``---``) gives the title, author and date; the first
heading gives the title otherwise. The plain text used for search drops the markup.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fileproc_dagster.describe.documents.textfiles import decode_text
from fileproc_dagster.describe.model import Description, ExtractOptions, Table
from fileproc_dagster.describe.web.common import read_capped, summarise

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_DELIMITER = re.compile(r"^\|?[ \t]*:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)*\|?[ \t]*$")
_MAX_FRONT_MATTER = 16_384
_MARKUP = [
    (re.compile(r"^```.*$|^~~~.*$", re.MULTILINE), ""),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+", re.MULTILINE), ""),
    (re.compile(r"^[ \t]*>[ \t]?", re.MULTILINE), ""),
    (re.compile(r"(\*\*|__)(\S(?:.*?\S)?)\1"), r"\2"),
    (re.compile(r"`([^`\n]+)`"), r"\1"),
    (re.compile(r"^\|?[ \t]*:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)*\|?[ \t]*$",
                re.MULTILINE), ""),
]


def describe_markdown(path: Path, mime: str, options: ExtractOptions) -> Description:
    """A Markdown file: its text kept as Markdown, and plain for search."""
    markdown, encoding = decode_text(read_capped(path, "Markdown file"))
    markdown = markdown.replace("\r\n", "\n").replace("\r", "\n")
    properties, body = _front_matter(markdown)
    headings = _HEADING.findall(body)
    if "title" not in properties and headings:
        properties["title"] = min(headings, key=lambda h: len(h[0]))[1]
    text = plain(body)
    return summarise("Markdown text", mime, text, markdown=markdown, tables=tables(body),
                     properties=properties, encoding=encoding, headings=len(headings))


def plain(markdown: str) -> str:
    """Markdown without its markup: the words a reader sees."""
    for pattern, replacement in _MARKUP:
        markdown = pattern.sub(replacement, markdown)
    return re.sub(r"\n{3,}", "\n\n", markdown).strip()


def tables(markdown: str) -> tuple[Table, ...]:
    """Pipe tables: a header row, a ``---`` delimiter row, then the body rows."""
    found: list[Table] = []
    lines = markdown.splitlines()
    for index in range(1, len(lines)):
        if not (_DELIMITER.match(lines[index].strip()) and "|" in lines[index - 1]):
            continue
        rows = [_cells(lines[index - 1])]
        for line in lines[index + 1:]:
            if "|" not in line or not line.strip():
                break
            rows.append(_cells(line))
        found.append(Table(f"Table {len(found) + 1}", rows))
    return tuple(found)


def _cells(line: str) -> list[str]:
    line = line.strip()
    line = line[1:] if line.startswith("|") else line
    line = line[:-1] if line.endswith("|") and not line.endswith("\\|") else line
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line)]


def _front_matter(markdown: str) -> tuple[dict[str, Any], str]:
    found = _FRONT_MATTER.match(markdown)
    if not found or len(found.group(1)) > _MAX_FRONT_MATTER:
        return {}, markdown
    import yaml

    try:
        meta = yaml.load(found.group(1), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (yaml.YAMLError, RecursionError):
        return {}, markdown
    if not isinstance(meta, dict):
        return {}, markdown
    keys = {"title": "title", "author": "author", "authors": "author", "date": "created",
            "description": "subject", "subject": "subject", "lang": "language",
            "language": "language"}
    properties = {}
    for key, name in keys.items():
        value = meta.get(key)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        if value and name not in properties:
            properties[name] = str(value)
    return properties, markdown[found.end():]
