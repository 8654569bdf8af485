"""``python -m benchmarks --only formats``: our readers against markitdown and kreuzberg.

The files are the real third-party files of ``tests/realworld/*/`` (each folder's
``sources.json`` names their origin and licence and holds the phrases read by eye that the
tests expect in each file). Every file is read by three readers in the same run:

- ``ours``: ``fileproc_dagster.describe.detect`` then ``describe``, as ``fp.describe_path``;
- ``markitdown``: ``MarkItDown().convert``, without its audio converter (it sends the sound
  to an online speech service; offline it only fails);
- ``kreuzberg``: ``extract_file_sync`` with ``use_cache=False``.

Per format (the file's extension) and reader: files read without an error, phrases found of
those expected, tables found (with at least one cell that is not empty), and CPU per file
(median over the files it read of the median over ``--repeats`` runs); then the same over the
files every reader read. Each run reads the files
in a child process per reader, the readers taking turns: once to warm up (imports, models),
then timed. CPU is the child's own time plus that of the processes it waited for
(tesseract), from ``getrusage``. Files marked ``damaged`` in sources.json are listed apart:
refusing them is the right answer.

A phrase is found when it is in the reader's text with whitespace collapsed and Markdown
backslash escapes removed, or is one of its lines, the same rule for all three. In JSON, YAML
and XML files the tests' phrases are written ``key.path: value`` (our rendering); a reader
that keeps the raw text is scored on the value after the last ``": "``, and so are we.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from benchmarks.common import BENCH_ROOT, log, readers_in_turn, timed_read

REALWORLD = BENCH_ROOT / "tests" / "realworld"
READERS = ("ours", "markitdown", "kreuzberg")
PEERS = {"markitdown": "markitdown", "kreuzberg": "kreuzberg"}  # reader: its distribution
STRUCTURED = {"json", "yaml", "xml"}  # phrases written ``key.path: value``
FORMAT_OF_SUFFIX = {"yml": "yaml", "md": "markdown", "tif": "tiff", "htm": "html"}


@dataclass(frozen=True)
class Expectation:
    """One real file and what a reader should find in it."""

    path: Path
    phrases: tuple[str, ...]
    damaged: bool

    @property
    def format(self) -> str:
        suffix = self.path.suffix.lower().lstrip(".")
        return FORMAT_OF_SUFFIX.get(suffix, suffix)


def expectations(root: Path = REALWORLD) -> list[Expectation]:
    """Every file listed in a ``sources.json`` under ``root``, with its phrases."""
    found = []
    for sources in sorted(root.glob("*/sources.json")):
        for row in json.loads(sources.read_text()):
            found.append(Expectation(sources.parent / row["file"], tuple(row.get("phrases", ())),
                                     bool(row.get("damaged"))))
    return found


def _flat(text: str) -> str:
    return " ".join(re.sub(r"\\([\\`*_{}\[\]()#+\-.!|<>~=])", r"\1", text).split())


def phrase_found(phrase: str, text: str, format: str) -> bool:
    """The scoring rule (the tests' rule: in the flattened text, or a whole line)."""
    if format in STRUCTURED and ": " in phrase:
        phrase = phrase.rsplit(": ", 1)[1]
    lines = {line.strip() for line in text.splitlines()}
    return _flat(phrase) in _flat(text) or phrase in lines


def _filled(rows: Sequence[Sequence[Any]]) -> bool:
    return any(str(cell or "").strip() for row in rows for cell in row)


def markdown_tables(markdown: str) -> int:
    """Tables in Markdown with a cell that is not empty: rows of ``|`` cells, one of them the
    ``|---|`` separator row."""
    count, rows = 0, []
    for line in [*markdown.splitlines(), ""]:
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|") and len(stripped) > 1:
            rows.append([cell.strip() for cell in stripped[1:-1].split("|")])
            continue
        separator = [r for r in rows if r and all(re.fullmatch(r":?-{3,}:?", c) for c in r)]
        if separator:
            count += _filled([r for r in rows if r not in separator])
        rows = []
    return count


# -- the readers: each returns (text, tables found) or raises -------------------------------

def read_ours(path: Path) -> tuple[str, int]:
    from fileproc_dagster.describe import describe
    from fileproc_dagster.describe.detect import detect
    from fileproc_dagster.describe.model import ExtractOptions

    options = ExtractOptions()
    described = describe(path, detect(path, options), options)
    return described.text, sum(_filled(t.rows) for t in described.tables)


_MARKITDOWN: Any = None


def read_markitdown(path: Path) -> tuple[str, int]:
    global _MARKITDOWN
    if _MARKITDOWN is None:
        from markitdown import MarkItDown
        from markitdown.converters import AudioConverter

        converter = MarkItDown(enable_plugins=False)
        # Its audio converter sends the sound to Google's web speech service; this benchmark
        # stays offline (offline the converter only fails), so it is left out.
        converter._converters = [c for c in converter._converters
                                 if not isinstance(c.converter, AudioConverter)]
        _MARKITDOWN = converter
    markdown = _MARKITDOWN.convert(str(path)).text_content or ""
    return markdown, markdown_tables(markdown)


def read_kreuzberg(path: Path) -> tuple[str, int]:
    import kreuzberg

    result = kreuzberg.extract_file_sync(str(path),
                                         config=kreuzberg.ExtractionConfig(use_cache=False))
    return result.content or "", sum(_filled(t.cells) for t in result.tables or [])


READ: dict[str, Callable[[Path], tuple[str, int]]] = {
    "ours": read_ours, "markitdown": read_markitdown, "kreuzberg": read_kreuzberg}


def missing(reader: str) -> str | None:
    """Why a peer cannot run here (not installed), or None."""
    if reader in PEERS and importlib.util.find_spec(reader) is None:
        return f"{PEERS[reader]} is not installed (pip install 'fileproc_dagster[bench]')"
    return None


def peer_version(reader: str) -> str:
    try:
        return version(PEERS.get(reader, "fileproc_dagster"))
    except PackageNotFoundError:
        return "not installed"


def score(reader: str, expectation: Expectation) -> dict[str, Any]:
    """Read one file with one reader: read or its error, phrases found, tables, CPU."""
    read, error, cpu = timed_read(lambda: READ[reader](expectation.path))
    if error is not None:
        return {"error": error, "found": 0, "tables": 0, "cpu_s": cpu}
    text, tables = read
    found = sum(phrase_found(p, text, expectation.format) for p in expectation.phrases)
    return {"error": None, "found": found, "tables": tables, "cpu_s": cpu}


def worker(reader: str, root: Path, paths: Sequence[str]) -> int:
    """Child process: warm up on every file, then read each once, timed; JSON on stdout."""
    wanted = {str(e.path): e for e in expectations(root)}
    files = [wanted[p] for p in paths]
    for expectation in files:
        score(reader, expectation)
    print(json.dumps({str(e.path): score(reader, e) for e in files}))
    return 0


def run_formats(repeats: int = 3, readers: Sequence[str] = READERS,
                root: Path = REALWORLD) -> dict[str, Any]:
    """All readers on every file, ``repeats`` times taking turns; figures per format."""
    files = expectations(root)
    absent = {r: why for r in readers if (why := missing(r))}
    running = [r for r in readers if r not in absent]
    for why in absent.values():
        log(f"formats: {why}; its columns are left empty")
    runs = readers_in_turn("formats", running, repeats, root, [str(e.path) for e in files])
    per_file: dict[str, dict[str, dict[str, Any]]] = {}
    for reader in running:
        for expectation in files:
            key = str(expectation.path)
            readings = [run[key] for run in runs[reader]]
            first = readings[0]
            per_file.setdefault(key, {})[reader] = {
                "error": first["error"], "found": first["found"], "tables": first["tables"],
                "cpu_s": statistics.median(r["cpu_s"] for r in readings),
                "stable": all((r["error"], r["found"], r["tables"]) ==
                              (first["error"], first["found"], first["tables"])
                              for r in readings)}
    return {"repeats": repeats, "readers": list(readers), "missing": absent,
            "versions": {r: peer_version(r) for r in readers},
            "files": [{"path": str(e.path.relative_to(root)), "format": e.format,
                       "phrases": len(e.phrases), "damaged": e.damaged,
                       "readers": per_file.get(str(e.path), {})} for e in files]}


def summarize(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per format, an overall row and a row of the files every reader read: per reader
    files read, phrases found, tables found, median CPU of the files it read (None if none)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in results["files"]:
        if not row["damaged"]:
            groups.setdefault(row["format"], []).append(row)
    everything = [row for rows in groups.values() for row in rows]
    running = [r for r in results["readers"] if r not in results["missing"]]
    by_all = [row for row in everything
              if all(row["readers"][r]["error"] is None for r in running)]
    summary = []
    for name, rows in [*sorted(groups.items()), ("overall", everything),
                       ("read by all", by_all)]:
        line: dict[str, Any] = {"format": name, "files": len(rows),
                                "phrases": sum(r["phrases"] for r in rows)}
        for reader in running:
            got = [r["readers"][reader] for r in rows]
            read = [g["cpu_s"] for g in got if g["error"] is None]
            line[reader] = {"read": len(read), "found": sum(g["found"] for g in got),
                            "tables": sum(g["tables"] for g in got),
                            "cpu_s": statistics.median(read) if read else None}
        summary.append(line)
    return summary


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.1f}" if ms < 10 else f"{ms:,.0f}"


def table(results: dict[str, Any]) -> str:
    """The figures as Markdown: per format, then damaged files, then notes. A reader's cell:
    files read, phrases found, tables found, CPU ms per file (median)."""
    readers = results["readers"]
    header = ["format", "files", "phrases expected",
              *[f"{r}: read · phrases · tables · CPU ms/file" for r in readers]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for line in summarize(results):
        cells = [f"**{line['format']}**" if line["format"] in ("overall", "read by all")
                 else line["format"],
                 str(line["files"]), str(line["phrases"])]
        for reader in readers:
            got = line.get(reader)
            cells.append("-" if got is None else (
                f"{got['read']}/{line['files']} · {got['found']}/{line['phrases']} · "
                f"{got['tables']} · {'-' if got['cpu_s'] is None else _ms(got['cpu_s'])}"))
        lines.append("| " + " | ".join(cells) + " |")
    damaged = [row for row in results["files"] if row["damaged"]]
    if damaged:
        lines += ["", "Damaged files (refusing them is right):", ""]
        for row in damaged:
            said = "; ".join(
                f"{reader}: " + (row["readers"][reader]["error"] or "read without an error")
                for reader in readers if reader in row["readers"])
            lines.append(f"- {row['path']}: {said}")
    unstable = [f"{row['path']} ({reader})" for row in results["files"]
                for reader, got in row["readers"].items() if not got["stable"]]
    notes = [f"{reader}: {why}" for reader, why in results["missing"].items()]
    notes += [f"{reader} {results['versions'][reader]}" for reader in readers
              if reader not in results["missing"]]
    lines += ["", f"Medians of {results['repeats']} runs; " + ", ".join(notes) + "."]
    if unstable:
        lines.append("Results that changed between runs: " + ", ".join(unstable) + ".")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.formats",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--readers", default=",".join(READERS),
                        help=f"comma-separated subset of {','.join(READERS)}")
    parser.add_argument("--root", type=Path, default=REALWORLD,
                        help="folder of folders with a sources.json (default tests/realworld)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.root, args.files)
    readers = [r.strip() for r in args.readers.split(",") if r.strip()]
    unknown = set(readers) - set(READERS)
    if unknown:
        parser.error(f"unknown reader(s): {', '.join(sorted(unknown))}")
    print(table(run_formats(args.repeats, readers, args.root)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
