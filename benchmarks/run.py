"""The benchmark command: ``python -m benchmarks [--quick] [--only a,b]``.

Benchmarks: throughput, burst, overhead, latency, scale, memory, retention, formats, pages,
search (all by default; formats and pages need no corpus: they read the real files of
tests/realworld).
Results go to ``benchmarks/out/results-<time>.json`` and a Markdown summary next to it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchmarks.common import BENCH_ROOT, code_under_test, default_corpus, log, workdir
from benchmarks.pg import DEFAULT_ADMIN_URL
from benchmarks.procs import become_subreaper

ALL = ("throughput", "burst", "overhead", "latency", "scale", "memory", "retention", "formats",
       "pages", "search")
NO_CORPUS = {"formats", "pages"}  # read tests/realworld
REAL_PATH = {"throughput", "burst", "latency", "memory"}


@dataclass(frozen=True)
class Sizes:
    """How much each benchmark does."""

    files: int  # throughput and overhead
    latency_repeats: int
    burst: int  # the latency benchmark's burst
    cold_burst: int  # files of the cold burst
    repeats: int  # of throughput and the cold burst, each between two floor runs
    scale: str  # partition counts
    retention_base: int  # files behind before retirement, and per wave of arrivals
    arrivals: int  # arrivals simulated with retirement


FULL = Sizes(files=200, latency_repeats=5, burst=20, cold_burst=30, repeats=3,
             scale="1000,10000,100000", retention_base=100_000, arrivals=1_000_000)
QUICK = Sizes(files=12, latency_repeats=2, burst=6, cold_burst=6, repeats=1, scale="1000",
              retention_base=1000, arrivals=3000)


def machine() -> dict[str, Any]:
    """The machine and software the figures were measured on."""
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    memory = next((int(line.split()[1]) * 1024 for line in
                   Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(memory / 2**30, 1),
            "os": platform.platform(), "python": platform.python_version(),
            "dagster": version("dagster"), "code": code_under_test()}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(ALL),
                        help=f"comma-separated subset of {','.join(ALL)}")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: few files, 1k partitions only")
    parser.add_argument("--corpus", type=Path, default=default_corpus(),
                        help="development corpus (default $FILEPROC_CORPUS or ../shared/corpus)")
    parser.add_argument("--files", type=int, help="files for throughput and overhead")
    parser.add_argument("--burst-files", type=int, help="files of the cold burst (default 30)")
    parser.add_argument("--repeats", type=int,
                        help="runs of throughput and of the cold burst, each between two floor "
                        "runs, and of the formats and pages benchmarks (default 3; 1 with --quick)")
    parser.add_argument("--scale-sizes", help="partition counts, e.g. 1000,10000,100000")
    parser.add_argument("--arrivals", type=int,
                        help="arrivals simulated with retirement (default 1,000,000)")
    parser.add_argument("--retention-budget-s", type=float, default=600,
                        help="stop adding waves of arrivals after this long, per backend")
    parser.add_argument("--backends", default="sqlite,postgres",
                        help="Dagster storages for the scale and overhead benchmarks")
    parser.add_argument("--pg-url", default=os.environ.get("FILEPROC_BENCH_PG", DEFAULT_ADMIN_URL),
                        help="PostgreSQL admin URL on loopback (databases are created/dropped)")
    parser.add_argument("--out", type=Path, default=BENCH_ROOT / "benchmarks" / "out")
    parser.add_argument("--tmp", type=Path, default=None, help="parent of the work directories")
    parser.add_argument("--keep", action="store_true", help="keep the work directories")
    parser.add_argument("--label", default="", help="free text stored with the results")
    args = parser.parse_args(argv)
    args.parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(args.parts) - set(ALL)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    return args


def _timed(results: dict[str, Any], name: str, step: Callable[[], Any]) -> None:
    """Run one benchmark; an error is recorded and the others still run."""
    started = time.perf_counter()
    try:
        results[name] = step()
    except Exception as exc:  # noqa: BLE001 - reported in the results and the summary
        log(f"{name} FAILED: {exc!r}")
        results[name] = {"error": f"{type(exc).__name__}: {str(exc)[:1500]}"}
    results.setdefault("durations_s", {})[name] = time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    from benchmarks.overhead import run_overhead
    from benchmarks.realpath import RealPathSizes, run_real_path
    from benchmarks.report import render
    from benchmarks.scale import run_scale

    args = parse_args(argv)
    sizes = QUICK if args.quick else FULL
    files = args.files or sizes.files
    scale_sizes = [int(s) for s in (args.scale_sizes or sizes.scale).split(",")]
    if set(args.parts) - NO_CORPUS and not (args.corpus / "manifest.json").is_file():
        log(f"no corpus at {args.corpus} (set FILEPROC_CORPUS or --corpus)")
        return 2
    subreaper = become_subreaper()
    started = time.perf_counter()
    results: dict[str, Any] = {
        "command": "python -m benchmarks " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "label": args.label, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine(), "cpu_accounting_exact": subreaper}
    log(f"benchmarks {args.parts} on {results['machine']['code']}")
    real_parts = REAL_PATH & set(args.parts)
    if real_parts:
        real = RealPathSizes(files, sizes.latency_repeats, sizes.burst,
                             args.burst_files or sizes.cold_burst, args.repeats or sizes.repeats)
        with workdir(args.tmp, args.keep, "real") as root:
            _timed(results, "real_path", lambda: run_real_path(args.corpus, root, real,
                                                               real_parts))
    if "overhead" in args.parts:
        with workdir(args.tmp, args.keep, "overhead") as root:
            backends = [b.strip() for b in args.backends.split(",") if b.strip()]
            _timed(results, "overhead", lambda: run_overhead(args.corpus, root, files, backends,
                                                             args.pg_url))
    if "scale" in args.parts:
        backends = [b.strip() for b in args.backends.split(",") if b.strip()]
        with workdir(args.tmp, args.keep, "scale") as root:
            _timed(results, "scale", lambda: run_scale(root, scale_sizes, backends, args.pg_url))
    if "retention" in args.parts:
        from benchmarks.retention import run_retention

        backends = [b.strip() for b in args.backends.split(",") if b.strip()]
        with workdir(args.tmp, args.keep, "retention") as root:
            _timed(results, "retention", lambda: run_retention(
                root, backends, args.pg_url, sizes.retention_base,
                args.arrivals or sizes.arrivals, args.retention_budget_s))
    if "formats" in args.parts:
        from benchmarks.formats import run_formats, table

        def formats() -> dict[str, Any]:
            figures = run_formats(args.repeats or sizes.repeats)
            return {**figures, "table": table(figures)}

        _timed(results, "formats", formats)
    if "pages" in args.parts:
        from benchmarks.pages import run_pages
        from benchmarks.pages import table as pages_table

        def pages() -> dict[str, Any]:
            figures = run_pages(args.repeats or sizes.repeats)
            return {**figures, "table": pages_table(figures)}

        _timed(results, "pages", pages)
    if "search" in args.parts:
        from benchmarks.search import run_search
        from benchmarks.search import table as search_table

        def search() -> dict[str, Any]:
            figures = run_search(args.corpus, args.quick)
            return {**figures, "table": search_table(figures)}

        _timed(results, "search", search)
    results["total_s"] = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (args.out / f"results-{stamp}.json").write_text(json.dumps(results, indent=2, default=str))
    summary = render(results)
    (args.out / f"summary-{stamp}.md").write_text(summary)
    print(summary)
    log(f"done in {results['total_s'] / 60:.1f} min; results in {args.out}/results-{stamp}.json")
    return 1 if any(isinstance(v, dict) and "error" in v for v in results.values()) else 0
