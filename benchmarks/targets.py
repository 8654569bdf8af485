"""The performance targets: one row per figure, measured or not, with the command measuring it.

``issue_rows`` has exactly one row per figure the targets name, in their order; a figure this
invocation did not measure says which command does. ``extra_rows`` follow: figures with a
limit that explain those (warm queries, sensor evaluation, PostgreSQL storage, memory).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

KB, GB = 1024, 2**30
FULL_FILES = 200  # the orchestration figures' N
TOP = 100_000  # partitions of the scale figures
MILLION = 1_000_000
BENCHMARK_OF = {"throughput": "real_path", "burst": "real_path", "latency": "real_path",
                "memory": "real_path", "overhead": "overhead", "scale": "scale",
                "retention": "retention"}
Measured = tuple[str, str]  # (measured, met?)


@dataclass(frozen=True)
class Row:
    """One figure against its target."""

    figure: str
    target: str
    measured: str
    met: str
    command: str


def command(benchmark: str) -> str:
    return f"python -m benchmarks --only {benchmark}"


def get(data: Any, *path: str) -> Any:
    """``data[path[0]][path[1]]...``, or None where a key is missing."""
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def met(ok: Iterable[bool]) -> str:
    return "yes" if all(ok) else "**no**"


def _x(value: float) -> str:
    return f"{value:.2f}x"


def _ratio(results: dict[str, Any], part: str, limit: float) -> Measured | None:
    """A batch against the 2-process floor (``benchmarks.batches``): median and spread."""
    data = get(results, "real_path", part)
    if not data or "ratio" not in data:
        return None
    ratio, cpu, runs = data["ratio"], data["cpu_ratio"], data["repeats"]
    if len(runs) > 1:
        spread = (f"median of {len(runs)} runs, min–max {_x(ratio['min'])}–{_x(ratio['max'])}; "
                  f"by CPU {_x(cpu['median'])} ({_x(cpu['min'])}–{_x(cpu['max'])})")
    else:
        spread = f"1 run; by CPU {_x(cpu['median'])}"
    ours = sorted(runs, key=lambda r: r["ratio"])[len(runs) // 2]
    if part == "throughput":
        both = f"{ours['files_per_min']:.1f} vs {ours['floor']['files_per_min']:.1f} files/min"
    else:
        both = f"{ours['wall_s']:.1f} s vs floor {ours['floor']['wall_s']:.1f} s"
    return (f"**{_x(ratio['median'])}** ({spread}; {data['files']} files, {both})",
            met([ratio["median"] >= limit]))


def _throughput(results: dict[str, Any]) -> Measured | None:
    return _ratio(results, "throughput", 0.9)


def _burst(results: dict[str, Any]) -> Measured | None:
    return _ratio(results, "burst", 0.75)


def _n(data: dict[str, Any]) -> str:
    return "" if data.get("files") == FULL_FILES else f" (N = {data.get('files')})"


def _overhead_cpu(results: dict[str, Any]) -> Measured | None:
    ov = get(results, "overhead")
    if not ov or "cpu_ms_per_file" not in ov:
        return None
    return f"{ov['cpu_ms_per_file']:.0f} ms{_n(ov)}", met([ov["cpu_ms_per_file"] <= 60])


def _overhead_pg(results: dict[str, Any]) -> Measured | None:
    pg = get(results, "overhead", "postgres")
    if not pg or "cpu_ms_per_file" not in pg:
        return None
    total = pg["cpu_ms_per_file"] + pg["server_cpu_ms_per_file"]
    return (f"{total:.0f} ms ({pg['cpu_ms_per_file']:.0f} + {pg['server_cpu_ms_per_file']:.0f} "
            f"ms in the server; DAGSTER_EVENT_BATCH_SIZE {pg.get('event_batch_size') or 'unset'})"
            f"{_n(pg)}", met([total <= 100]))


def _storage(results: dict[str, Any]) -> Measured | None:
    ov = get(results, "overhead")
    if not ov or "dagster_bytes_per_file" not in ov:
        return None
    kb = ov["dagster_bytes_per_file"] / KB
    return f"{kb:.1f} KB{_n(ov)}", met([kb <= 30])


def _at_top(results: dict[str, Any], value: Callable[[dict[str, Any]], float | None],
            backends: tuple[str, ...], limit: float) -> Measured | None:
    """A scale figure at 100k partitions on each backend; the largest size when short."""
    found: list[tuple[str, int, float]] = []
    for backend in backends:
        sizes = get(results, "scale", backend, "sizes") or {}
        if sizes:
            top = max(sizes, key=int)
            figure = value(sizes[top])
            if figure is not None:
                found.append((backend, int(top), figure))
    if not found:
        return None
    text = ", ".join(f"{b} {v:.2f} s" + ("" if n >= TOP else f" at {n:,} partitions")
                     for b, n, v in found)
    if any(n < TOP for _, n, _ in found):
        return text, "not measured at 100k"
    return text, met(v <= limit for _, _, v in found)


def _run_creation(results: dict[str, Any]) -> Measured | None:
    return _at_top(results, lambda at: get(at, "daemon_tick_arrivals", "total_s"),
                   ("sqlite", "postgres"), 1.0)


def _status_query(results: dict[str, Any]) -> Measured | None:
    return _at_top(results, lambda at: at.get("graphql_health_cold_s"), ("postgres",), 2.0)


def _latency(results: dict[str, Any]) -> Measured | None:
    lat = get(results, "real_path", "latency")
    if not lat or "single_p50_s" not in lat:
        return None
    singles = lat["single_s"]
    return (f"{lat['single_p50_s']:.1f} s ({min(singles):.1f}–{max(singles):.1f} s, "
            f"{len(singles)} drops)", met([lat["single_p50_s"] <= 5]))


def _million(results: dict[str, Any]) -> Measured | None:
    """Per backend: the arrivals reached, and the worst figures once files are retired."""
    texts, verdicts, short = [], [], []
    for backend, data in (get(results, "retention") or {}).items():
        phases = [p for p in (get(data, "phases") or []) if "retired_keys" in p]
        if not phases:
            continue
        reached = max(p["arrivals"] for p in phases)
        tick = max(get(p, "daemon_tick_arrivals", "total_s") or math.nan for p in phases)
        sensor = max(p["sensor_arrivals_s"] for p in phases)
        status = max(p["graphql_health_cold_s"] for p in phases)
        counts = max(max(p["graphql_stats_cold_s"], p["graphql_stats_warm_s"]) for p in phases)
        stop = (f", budget spent before {MILLION:,}" if data.get("stopped_at")
                else "" if reached >= MILLION else f", {reached:,} asked")
        texts.append(f"{backend}: {reached:,} arrivals{stop}; worst with retirement: run "
                     f"creation {tick:.2f} s, sensor {sensor:.2f} s, status query {status:.2f} s,"
                     f" counts query {counts:.2f} s")
        verdicts += [tick <= 1, sensor <= 1, status <= 2, counts <= 2]
        if reached < MILLION:
            short.append(f"{backend} stopped at {reached:,}")
    if not texts:
        return None
    verdict = met(verdicts)
    if verdict == "yes" and short:
        verdict = f"limits met; 1M not reached ({', '.join(short)})"
    return "; ".join(texts), verdict


FIGURES: tuple[tuple[str, str, str, Callable[[dict[str, Any]], Measured | None]], ...] = (
    ("throughput, sensor path / 2-process plain floor, mixed real corpus", ">= 0.90x",
     "throughput", _throughput),
    ("small cold burst: 30 real files dropped on an idle daemon, floor wall / ours wall "
     "(drop to last done)", ">= 0.75x", "burst", _burst),
    ("orchestration CPU per file, embedded default (no-op extractors, N = 200)", "<= 60 ms",
     "overhead", _overhead_cpu),
    ("orchestration CPU per file, PostgreSQL instance, the server's CPU included", "<= 100 ms",
     "overhead", _overhead_pg),
    ("Dagster storage per file, SQLite", "<= 30 KB", "overhead", _storage),
    ("run creation at 100k partitions (daemon tick incl. creating runs for 10 new files)",
     "<= 1 s", "scale", _run_creation),
    ("partition-status query at 100k, PostgreSQL, first after seeding", "<= 2 s", "scale",
     _status_query),
    ("single page scan, drop to done, p50", "<= 5 s", "latency", _latency),
    ("1,000,000 files through one deployment (simulated arrivals, real daemon): sensor tick, "
     "run creation, UI partition queries", "same limits as at 100k (1 s, 2 s)", "retention",
     _million),
)


def issue_rows(results: dict[str, Any]) -> list[Row]:
    """Every target's row, in order; the ones not measured name the command that does."""
    rows = []
    for figure, target, benchmark, measure in FIGURES:
        run = command(benchmark)
        measured = measure(results)
        if measured is None:
            failed = get(results, BENCHMARK_OF[benchmark], "error")
            text = "failed (see Errors)" if failed else f"not measured (run: `{run}`)"
            rows.append(Row(figure, target, text, "-", f"`{run}`"))
        else:
            rows.append(Row(figure, target, measured[0], measured[1], f"`{run}`"))
    return rows


def extra_rows(results: dict[str, Any]) -> list[Row]:
    """Figures with a limit that explain the targets' rows, where measured."""
    rows: list[Row] = []

    def add(figure: str, target: str, value: float, text: str, limit: float,
            benchmark: str) -> None:
        rows.append(Row(figure, target, text, met([value <= limit]), f"`{command(benchmark)}`"))

    pg = get(results, "overhead", "postgres")
    if pg and "dagster_bytes_per_file" in pg:
        kb = pg["dagster_bytes_per_file"] / KB
        add("Dagster storage per file, PostgreSQL", "<= 30 KB", kb, f"{kb:.1f} KB{_n(pg)}", 30,
            "overhead")
    for backend, data in (get(results, "scale") or {}).items():
        sizes = get(data, "sizes") or {}
        if not sizes:
            continue
        top = max(sizes, key=int)
        at, where = sizes[top], f"{int(top):,} partitions, {backend}"
        for figure, value, limit in (
                (f"sensor evaluation with 10 new files ({where})", at["sensor_arrivals_s"], 1),
                (f"partition-status query, first after seeding ({where})",
                 at["graphql_health_cold_s"], 2),
                (f"partition-status query, warm, median of 3 ({where})",
                 at["graphql_health_warm_s"], 2),
                (f"partition-count query, slower of cold / warm ({where})",
                 max(at["graphql_stats_cold_s"], at["graphql_stats_warm_s"]), 2)):
            add(figure, f"<= {limit} s", value, f"{value:.2f} s", limit, "scale")
    peaks = [v for key in ("run worker", "extraction worker")
             for v in [get(results, "real_path", "memory", "peak_rss_mb", key)]
             + [get(r, "by_role", key, "peak_rss_mb")
                for r in get(results, "real_path", "throughput", "repeats") or []]
             if v is not None]
    if peaks:
        gb = max(peaks) * 2**20 / GB
        add("peak RSS of a worker (run / extraction)", "<= 1.5 GB", gb, f"{gb:.2f} GB", 1.5,
            "memory")
    return rows
