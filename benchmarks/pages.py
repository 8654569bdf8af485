"""``python -m benchmarks --only pages``: real pages read by ours, plain tesseract and kreuzberg.

The pages are the real third-party files of ``tests/realworld/pages/`` (``sources.json``
names each file's origin, licence and kind, and holds the transcription of its first lines
made by eye). Every page is read by three readers in the same run:

- ``ours``: ``fileproc_dagster.describe.detect`` then ``describe``, as ``fp.describe_path``;
- ``tesseract``: ``tesseract FILE -`` (a PDF's pages rendered at 300 dpi, each read so), one
  OpenMP thread as our pipeline runs it;
- ``kreuzberg``: ``extract_file_sync`` with its default OCR configuration and ``use_cache=False``.

A searchable PDF's own text layer is scored too, as a fourth column. Per page kind (clean
scan, fax, photographed page, receipt, form, searchable pdf, faded copy, photo) and reader: the
median word accuracy (``transcript_accuracy`` of ``tests/support/pages.py``: the part of the
reading matching the transcript, scored as the corpus scores OCR) and the median CPU seconds
per page (the child's own time plus that of the processes it waited for, from ``getrusage``,
median over ``--repeats`` runs); then our CPU over plain tesseract's on the clean scans. Each
run reads the pages in a child process per reader, the readers taking turns, after one page
read to warm up (imports, models).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import BENCH_ROOT, log, readers_in_turn, timed_read
from benchmarks.formats import missing, peer_version

PAGES = BENCH_ROOT / "tests" / "realworld" / "pages"
SUPPORT = BENCH_ROOT / "tests"  # where ``support.pages`` (scorer, plain tesseract) lives
READERS = ("ours", "tesseract", "kreuzberg")
CLEAN = "clean scan"


def _support() -> Any:
    if str(SUPPORT) not in sys.path:
        sys.path.append(str(SUPPORT))
    import support.pages

    return support.pages


def sources(root: Path = PAGES) -> list[dict[str, Any]]:
    """The pages listed in ``root/sources.json``: file, kind, document or photo, transcript."""
    rows: list[dict[str, Any]] = json.loads((root / "sources.json").read_text())
    return rows


# -- the readers: each returns (text, called a document) or raises -------------------------

def read_ours(path: Path) -> tuple[str, bool | None]:
    from fileproc_dagster.describe import describe
    from fileproc_dagster.describe.detect import detect
    from fileproc_dagster.describe.model import ExtractOptions, FileKind

    options = ExtractOptions()
    detection = detect(path, options)
    return describe(path, detection, options).text, detection.kind is FileKind.DOCUMENT


def read_tesseract(path: Path) -> tuple[str, bool | None]:
    return _support().plain_tesseract(path), None


def read_kreuzberg(path: Path) -> tuple[str, bool | None]:
    import kreuzberg

    result = kreuzberg.extract_file_sync(str(path),
                                         config=kreuzberg.ExtractionConfig(use_cache=False))
    return result.content or "", None


READ: dict[str, Callable[[Path], tuple[str, bool | None]]] = {
    "ours": read_ours, "tesseract": read_tesseract, "kreuzberg": read_kreuzberg}


def read_one(reader: str, path: Path) -> dict[str, Any]:
    """One page read by one reader: its text (or error), its page/photo call, CPU seconds."""
    read, error, cpu = timed_read(lambda: READ[reader](path))
    text, document = read if error is None else ("", None)
    return {"error": error, "text": text, "document": document, "cpu_s": cpu}


def worker(reader: str, root: Path, names: Sequence[str]) -> int:
    """Child process: one page read to warm up, then each page once, timed; JSON on stdout."""
    if names:
        read_one(reader, root / names[0])
    print(json.dumps({name: read_one(reader, root / name) for name in names}))
    return 0


def run_pages(repeats: int = 3, readers: Sequence[str] = READERS, root: Path = PAGES,
              names: Sequence[str] | None = None) -> dict[str, Any]:
    """Every reader on every page, ``repeats`` times taking turns; figures per page."""
    rows = [r for r in sources(root) if names is None or r["file"] in names]
    files = [r["file"] for r in rows]
    absent = {r: why for r in readers if (why := missing(r))}
    running = [r for r in readers if r not in absent]
    for why in absent.values():
        log(f"pages: {why}; its columns say not installed")
    runs = readers_in_turn("pages", running, repeats, root, files, extra_path=[SUPPORT])
    scorer = _support()
    pages = []
    for row in rows:
        path = root / row["file"]
        got: dict[str, Any] = {}
        for reader in running:
            first = runs[reader][0][row["file"]]
            got[reader] = {
                "error": first["error"], "document": first["document"],
                "accuracy": scorer.transcript_accuracy(row["transcript"], first["text"]),
                "cpu_s": statistics.median(run[row["file"]]["cpu_s"] for run in runs[reader])}
        layer = (scorer.transcript_accuracy(row["transcript"], scorer.text_layer(path))
                 if path.suffix.lower() == ".pdf" else None)
        pages.append({"file": row["file"], "kind": row["kind"], "document": row["document"],
                      "layer": layer, "readers": got})
    return {"repeats": repeats, "readers": list(readers), "missing": absent,
            "versions": {r: peer_version(r) for r in readers if r == "kreuzberg"},
            "pages": pages}


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def summarize(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per kind and an overall row: per reader the median accuracy and CPU seconds."""
    kinds: dict[str, list[dict[str, Any]]] = {}
    for page in results["pages"]:
        kinds.setdefault(page["kind"], []).append(page)
    rows = []
    for kind, pages in [*sorted(kinds.items()), ("overall", results["pages"])]:
        line: dict[str, Any] = {"kind": kind, "pages": len(pages)}
        for reader in results["readers"]:
            got = [p["readers"][reader] for p in pages if reader in p["readers"]]
            line[reader] = None if not got else {
                "accuracy": _median([g["accuracy"] for g in got]),
                "cpu_s": _median([g["cpu_s"] for g in got if g["error"] is None])}
        layers = [p["layer"] for p in pages if p["layer"] is not None]
        line["layer"] = _median(layers)
        rows.append(line)
    return rows


def clean_cpu_ratio(results: dict[str, Any]) -> float | None:
    """Our median CPU per clean scan over plain tesseract's (the issue's bound: 1.3)."""
    clean = [p["readers"] for p in results["pages"] if p["kind"] == CLEAN]
    ours = _median([r["ours"]["cpu_s"] for r in clean if "ours" in r])
    plain = _median([r["tesseract"]["cpu_s"] for r in clean if "tesseract" in r])
    return ours / plain if ours is not None and plain else None


def table(results: dict[str, Any]) -> str:
    """The figures as Markdown: per kind, word accuracy and CPU s/page per reader; a page
    table; then our page/photo calls that are wrong, the CPU ratio and notes."""
    readers = results["readers"]
    header = ["kind", "pages", *[f"{r}: accuracy · CPU s" for r in readers], "text layer"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    def cell(got: dict[str, Any] | None, reader: str) -> str:
        if reader in results["missing"]:
            return "not installed"
        if got is None:
            return "-"
        cpu = "-" if got["cpu_s"] is None else f"{got['cpu_s']:.2f}"
        return f"{got['accuracy']:.3f} · {cpu}"

    for line in summarize(results):
        name = f"**{line['kind']}**" if line["kind"] == "overall" else line["kind"]
        layer = "-" if line["layer"] is None else f"{line['layer']:.3f}"
        lines.append("| " + " | ".join([name, str(line["pages"]),
                                         *[cell(line[r], r) for r in readers], layer]) + " |")
    lines += ["", "| page | kind | " + " | ".join(readers) + " |",
              "|---|---|" + "---|" * len(readers)]
    for page in results["pages"]:
        cells = [cell(page["readers"].get(r), r) for r in readers]
        lines.append(f"| {page['file']} | {page['kind']} | " + " | ".join(cells) + " |")
    wrong = [f"{p['file']} ({p['kind']}) called a {'document' if not p['document'] else 'photo'}"
             for p in results["pages"] if "ours" in p["readers"]
             and p["readers"]["ours"]["document"] is not None
             and p["readers"]["ours"]["document"] != p["document"]]
    ratio = clean_cpu_ratio(results)
    notes = [f"{r}: {why}" for r, why in results["missing"].items()]
    notes += [f"{r} {v}" for r, v in results["versions"].items() if r not in results["missing"]]
    lines += ["", "Our page/photo calls that are wrong: " + ("; ".join(wrong) or "none") + "."]
    if ratio is not None:
        lines.append(f"CPU per clean scan, ours over plain tesseract: {ratio:.2f}x "
                     "(issue 21 bound: 1.3x).")
    lines.append(f"Medians of {results['repeats']} runs" + (f"; {', '.join(notes)}" if notes
                                                            else "") + ".")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pages",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--readers", default=",".join(READERS),
                        help=f"comma-separated subset of {','.join(READERS)}")
    parser.add_argument("--root", type=Path, default=PAGES,
                        help="folder of pages with a sources.json (default tests/realworld/pages)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", help="only these pages (names in sources.json)")
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.root, args.files)
    readers = [r.strip() for r in args.readers.split(",") if r.strip()]
    unknown = set(readers) - set(READERS)
    if unknown:
        parser.error(f"unknown reader(s): {', '.join(sorted(unknown))}")
    print(table(run_pages(args.repeats, readers, args.root, args.files or None)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
