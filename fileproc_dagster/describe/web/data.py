"""Data files (JSON, YAML, XML) as readable text: keys and values flattened to lines.

``address.city: Lyon`` for JSON and YAML, an indented outline of elements for XML. Lists of
flat records become tables. Everything is bounded: the file's size, the nesting (deeper
parts are joined onto one line), and the lines written (the rest is cut and the record
says so). YAML is read with the safe loader only; XML with entity declarations and external
references refused (see ``common.parse_xml``).
"""

from __future__ import annotations

import functools
import json
import re
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from fileproc_dagster.describe.documents.textfiles import decode_text
from fileproc_dagster.describe.model import Description, ExtractOptions, Table
from fileproc_dagster.describe.web.common import (
    MAX_TEXT_CHARS,
    local,
    parse_xml,
    read_capped,
    summarise,
)
from fileproc_dagster.errors import BadInput

MAX_DEPTH = 32  # deeper values are written on their parent's line
MAX_LINES = 200_000
_MAX_VALUE_CHARS = 2_000
_MAX_TABLE_ROWS = 10_000


def describe_json(path: Path, mime: str, options: ExtractOptions) -> Description:
    """A JSON document's keys and values, one ``path: value`` line each."""
    text, _ = decode_text(read_capped(path, "JSON file"))
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise BadInput("JSON nested too deeply to read") from exc
    except ValueError as exc:
        raise BadInput(f"not valid JSON: {exc}") from exc
    return _describe("JSON data", mime, [value])


def describe_yaml(path: Path, mime: str, options: ExtractOptions) -> Description:
    """A YAML file's documents (safe loading only: no tags that build objects)."""
    import yaml

    text, _ = decode_text(read_capped(path, "YAML file"))
    try:
        documents = list(yaml.load_all(text, Loader=safe_loader()))
    except RecursionError as exc:
        raise BadInput("YAML nested too deeply to read") from exc
    except yaml.YAMLError as exc:
        raise BadInput(f"not valid YAML: {' '.join(str(exc).split())}") from exc
    return _describe("YAML data", mime, documents)


def describe_xml(path: Path, mime: str, options: ExtractOptions) -> Description:
    """An XML document as an outline: each element with its attributes and text."""
    root = parse_xml(read_capped(path, "XML file"), "XML file")
    writer = _Lines()
    _outline(root, 0, writer)
    text = "\n".join(writer.lines)
    prose = " ".join(" ".join(root.itertext()).split())
    return summarise("XML data", mime, text, language_text=prose[:100_000],
                     root=local(root.tag), truncated=writer.full, lines=len(writer.lines))


def _describe(kind: str, mime: str, documents: list[Any]) -> Description:
    writer = _Lines()
    for number, document in enumerate(documents):
        if number and not writer.full:
            writer.add("---")
        _flatten(document, "", 0, writer)
    tables = tuple(_tables(documents))
    text = "\n".join(writer.lines)
    values = " ".join(_strings(documents, 100_000))
    return summarise(kind, mime, text, tables=tables, language_text=values,
                     documents=len(documents), truncated=writer.full, lines=len(writer.lines))


@functools.cache
def safe_loader() -> Any:
    """PyYAML's safe loader, with YAML 1.2's booleans: ``on:`` and ``no:`` stay words.

    YAML 1.1 reads ``on``/``off``/``yes``/``no`` as booleans, which turns the ``on:`` of a
    CI workflow into ``True``.
    """
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader: Any = type("SafeLoader12", (base,), {})
    loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in base.yaml_implicit_resolvers.items()}
    loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                                 re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                 list("tTfF"))
    return loader


class _Lines:
    """Lines written until a cap on their number or characters (hostile files hit it)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.chars = 0
        self.full = False

    def add(self, line: str) -> None:
        if self.full:
            return
        if len(self.lines) >= MAX_LINES or self.chars + len(line) > MAX_TEXT_CHARS:
            self.full = True
            return
        self.lines.append(line)
        self.chars += len(line) + 1


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = " ".join(str(value).split())
    return text if len(text) <= _MAX_VALUE_CHARS else text[:_MAX_VALUE_CHARS] + " ..."


def _flatten(value: Any, where: str, depth: int, out: _Lines) -> None:
    if out.full:
        return
    if isinstance(value, dict | list) and depth >= MAX_DEPTH:
        # Too deep to spell out key by key: its words still reach the text, on one line.
        out.add(f"{where}: " + _scalar(" ".join(_strings([value], 10_000))))
        return
    if isinstance(value, dict):
        if not value:
            out.add(f"{where}: {{}}" if where else "{}")
        for key, item in value.items():
            _flatten(item, f"{where}.{key}" if where else str(key), depth + 1, out)
            if out.full:
                return
    elif isinstance(value, list):
        if not value:
            out.add(f"{where}: []" if where else "[]")
        for index, item in enumerate(value, start=1):
            _flatten(item, f"{where}[{index}]" if where else f"[{index}]", depth + 1, out)
            if out.full:
                return
    else:
        out.add(f"{where}: {_scalar(value)}" if where else _scalar(value))


def _strings(values: list[Any], limit: int) -> Iterator[str]:
    """Keys and string values, breadth first, from at most ``limit`` nodes (no recursion)."""
    queue = deque(values)
    for _ in range(limit):
        if not queue:
            return
        value = queue.popleft()
        if isinstance(value, dict):
            for key, item in value.items():
                yield str(key)
                queue.append(item)
        elif isinstance(value, list):
            queue.extend(value)
        elif isinstance(value, str):
            yield value


def _tables(documents: list[Any]) -> Iterator[Table]:
    """Lists of flat records (the rows of a data export), found at the top two levels."""
    candidates: list[tuple[str, Any]] = [("data", d) for d in documents]
    for document in documents:
        if isinstance(document, dict):
            candidates += [(str(k), v) for k, v in document.items()]
    for name, value in candidates:
        if not (isinstance(value, list) and len(value) >= 2
                and all(isinstance(r, dict) for r in value[:_MAX_TABLE_ROWS])):
            continue
        records = value[:_MAX_TABLE_ROWS]
        if any(isinstance(v, dict | list) for r in records for v in r.values()):
            continue
        header = list(dict.fromkeys(str(k) for r in records for k in r))
        rows = [[_scalar(r.get(h, "")) if h in r else "" for h in header] for r in records]
        yield Table(name, [header, *rows])


def _outline(element: Element, depth: int, out: _Lines) -> None:
    if out.full:
        return
    attributes = " ".join(f"{local(k)}={_scalar(v)}" for k, v in element.attrib.items())
    name = local(element.tag) or "?"
    head = "  " * depth + name + (f" ({attributes})" if attributes else "")
    if depth >= MAX_DEPTH:
        words = " ".join(" ".join(element.itertext()).split())
        out.add(f"{head}: {_scalar(words)}" if words else head)
        return
    own = " ".join((element.text or "").split())
    out.add(f"{head}: {_scalar(own)}" if own else head)
    for child in element:
        if not isinstance(child.tag, str):
            continue  # comments and processing instructions
        _outline(child, depth + 1, out)
        tail = " ".join((child.tail or "").split())
        if tail:
            out.add("  " * (depth + 1) + _scalar(tail))
