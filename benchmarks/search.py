"""``python -m benchmarks --only search``: finding records by words, by meaning, and both.

The records: every file of the development corpus (``$FILEPROC_CORPUS``, manifest.json) with
the text its manifest expects, as a perfect reader would record it (the scanned report split
into its pages at its "Page N of M" footers), and the real files of ``tests/realworld/``
described by our own readers. The judged queries of ``search_queries.json`` (questions a
person would ask, mostly in other words than the file's) are run in each mode; per mode:
recall@5 (the share of a query's relevant records in its first five), MRR (the mean of one
over the rank of the first relevant record) and, where a query names the place that answers
it, how often the hit shows that place.

Also measured: the query time (p50 of ``Files.find``) over 10,000 and 100,000 synthetic
passages (random unit vectors, 10 per record) on SQLite, the embedding cost per 1,000 words,
and the index bytes per file (passage rows: text, place and the 1,536-byte vector).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from benchmarks.common import BENCH_ROOT, default_corpus, log, percentile
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.schema import contents, files, passages
from fileproc_dagster.storage.states import State

QUERIES = Path(__file__).with_name("search_queries.json")
REALWORLD = BENCH_ROOT / "tests" / "realworld"
MODES = ("words", "meaning", "hybrid")
FOOTER = re.compile(r"^Page (\d+) of \d+$", re.M)
SCALES = (10_000, 100_000)


def _paged(text: str) -> str | None:
    """The Markdown of a text whose pages end with a ``Page N of M`` footer, or None."""
    if not FOOTER.search(text):
        return None
    pages = [p.strip() for p in FOOTER.split(text)[::2] if p.strip()]
    return "\n\n".join(f"<!-- page {n} -->\n\n{body}" for n, body in enumerate(pages, 1))


def _add(records: Records, n: int, name: str, **values: Any) -> None:
    key = f"r{n:05d}"
    records.uploads.receive(key, name, f"{n:064x}", n, n)
    records.files.insert(key, State.DESCRIBED, **values)


def load(records: Records, corpus: Path) -> tuple[int, int]:
    """Record the corpus and the real files; returns (records, words embedded)."""
    from fileproc_dagster.app.notebook import describe_path

    manifest = json.loads((corpus / "manifest.json").read_text())
    n = words = 0
    for entry in manifest["files"]:
        text = entry.get("expected_text") or ""
        if entry["expected_type"] not in ("document", "image", "audio"):
            continue
        n += 1
        words += len(text.split())
        _add(records, n, entry["name"], type=entry["expected_type"],
             description=f"{entry['expected_type']} ({Path(entry['name']).suffix or 'file'})",
             text=text, markdown=_paged(text))
    for path in sorted(REALWORLD.glob("*/*")):
        if path.name == "sources.json" or path.parent.name in ("media", "photos"):
            continue
        try:
            found = describe_path(path)
        except Exception as exc:  # noqa: BLE001 - a file no reader takes is left out
            log(f"search: {path.name} not described: {exc}")
            continue
        n += 1
        words += len((found.text or "").split())
        _add(records, n, path.name, type="document", description=found.description,
             text=found.text, markdown=found.markdown, details=found.details)
    return n, words


def judge(records: Records, queries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Recall@5, MRR and place accuracy of each mode over the judged queries."""
    figures: dict[str, Any] = {}
    for mode in MODES:
        recalls, reciprocal, placed, misses = [], [], [], []
        for q in queries:
            found = records.files.find(q["query"], limit=20, mode=mode)
            names = [record.name for record, _ in found]
            relevant = set(q["relevant"])
            recalls.append(len(relevant & set(names[:5])) / len(relevant))
            first = next((i for i, name in enumerate(names, 1) if name in relevant), None)
            reciprocal.append(1 / first if first else 0.0)
            if first is None or first > 5:
                misses.append(q["query"])
            if "place" in q:
                hit = next((h for r, h in found if r.name in relevant), None)
                placed.append(bool(hit and hit.place and hit.place.startswith(q["place"])))
        figures[mode] = {"recall_at_5": round(statistics.fmean(recalls), 3),
                         "mrr": round(statistics.fmean(reciprocal), 3),
                         "place_right": f"{sum(placed)}/{len(placed)}",
                         "missed_in_top_5": misses}
    return figures


def latency(root: Path, size: int, repeats: int = 20) -> dict[str, float]:
    """p50 of a query over ``size`` synthetic passages, in ms (the first, cold query apart)."""
    records = Records(f"sqlite:///{root / f'latency-{size}.db'}")
    rng = np.random.default_rng(size)
    per_record = 10
    stamp = datetime.now(UTC)
    with records.db.transaction() as conn:
        for start in range(0, size // per_record, 5000):
            keys = [f"s{i:07d}" for i in range(start, min(start + 5000, size // per_record))]
            conn.execute(sa.insert(contents), [{"key": k, "sha256": k, "name": k, "size": 1,
                                                "received_at": stamp} for k in keys])
            conn.execute(sa.insert(files), [
                {"key": k, "uuid": k, "name": f"{k}.txt", "size": 1, "sha256": k,
                 "state": "done", "verdict_pending": False, "created_at": stamp,
                 "updated_at": stamp} for k in keys])
            vectors = rng.standard_normal((len(keys) * per_record, 384)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            conn.execute(sa.insert(passages), [
                {"key": k, "ordinal": o, "place": f"page {o + 1}", "text": "synthetic passage",
                 "vector": vectors[i * per_record + o].astype("<f4").tobytes()}
                for i, k in enumerate(keys) for o in range(per_record)])
    out: dict[str, float] = {}
    for mode in ("meaning", "hybrid"):
        started = time.perf_counter()
        records.files.find("overdue invoice for office supplies", 10, mode)
        cold = (time.perf_counter() - started) * 1000
        times = []
        for n in range(repeats):
            started = time.perf_counter()
            records.files.find(f"overdue invoice number {n}", 10, mode)
            times.append((time.perf_counter() - started) * 1000)
        out[f"{mode}_p50_ms"] = round(percentile(times, 50), 1)
        out[f"{mode}_first_ms"] = round(cold, 1)
    return out


def embedding_cost(records: Records) -> dict[str, float]:
    """Seconds to embed 1,000 words of the recorded passages (the model loaded already)."""
    from fileproc_dagster.meaning.embedder import embed

    with records.db.transaction() as conn:
        texts = list(conn.execute(sa.select(passages.c.text)).scalars())
    embed(texts[:4])
    started = time.perf_counter()
    embed(texts)
    seconds = time.perf_counter() - started
    counted = sum(len(t.split()) for t in texts)
    return {"passages": len(texts), "words": counted,
            "seconds_per_1000_words": round(seconds / counted * 1000, 3)}


def index_bytes(records: Records, count: int) -> dict[str, float]:
    with records.db.transaction() as conn:
        total, vectors, rows = conn.execute(sa.select(
            sa.func.sum(sa.func.length(passages.c.vector) + sa.func.length(passages.c.text)
                        + sa.func.length(passages.c.place) + 40),
            sa.func.sum(sa.func.length(passages.c.vector)), sa.func.count())).one()
    return {"passages_per_file": round(rows / count, 1),
            "bytes_per_file": round(total / count), "vector_bytes_per_file":
            round(vectors / count)}


def run_search(corpus: Path, quick: bool = False) -> dict[str, Any]:
    queries = json.loads(QUERIES.read_text())["queries"]
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        root = Path(tmp)
        records = Records(f"sqlite:///{root / 'records.db'}")
        started = time.perf_counter()
        count, words = load(records, corpus)
        log(f"search: {count} records ({words} words) recorded and embedded in "
            f"{time.perf_counter() - started:.1f} s")
        figures: dict[str, Any] = {"records": count, "queries": len(queries),
                                   "modes": judge(records, queries)}
        figures["embedding"] = embedding_cost(records)
        figures["index"] = index_bytes(records, count)
        figures["latency"] = {str(size): latency(root, size)
                              for size in (SCALES[:1] if quick else SCALES)}
    return figures


def table(figures: dict[str, Any]) -> str:
    lines = ["| mode | recall@5 | MRR | place right |", "|---|---|---|---|"]
    for mode in MODES:
        m = figures["modes"][mode]
        lines.append(f"| {mode} | {m['recall_at_5']} | {m['mrr']} | {m['place_right']} |")
    lines.append("")
    lines.append("| passages | meaning p50 ms | hybrid p50 ms | first query ms |")
    lines.append("|---|---|---|---|")
    for size, t in figures["latency"].items():
        lines.append(f"| {int(size):,} | {t['meaning_p50_ms']} | {t['hybrid_p50_ms']} | "
                     f"{t['meaning_first_ms']} |")
    e, i = figures["embedding"], figures["index"]
    lines.append("")
    lines.append(f"Embedding: {e['seconds_per_1000_words']} s per 1,000 words "
                 f"({e['passages']} passages, {e['words']} words). Index: "
                 f"{i['bytes_per_file']:,} bytes per file ({i['passages_per_file']} passages, "
                 f"{i['vector_bytes_per_file']:,} of them vectors).")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.search",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=default_corpus())
    parser.add_argument("--quick", action="store_true", help="latency at 10k passages only")
    args = parser.parse_args(argv)
    figures = run_search(args.corpus, args.quick)
    print(json.dumps(figures, indent=2))
    print(table(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
