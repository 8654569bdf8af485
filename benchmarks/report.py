"""Results (the JSON ``benchmarks.run`` writes) as Markdown: figures against targets, details."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

KB, GB = 1024, 2**30
TARGETS = {  # name: (limit, "max" or "min")
    "throughput_ratio": (0.9, "min"),
    "overhead_cpu_ms": (60.0, "max"),
    "overhead_pg_cpu_ms": (100.0, "max"),  # the PostgreSQL server's CPU included
    "storage_kb": (30.0, "max"),
    "latency_p50_s": (8.0, "max"),
    "sensor_tick_s": (1.0, "max"),
    "partition_query_s": (2.0, "max"),
    "worker_rss_gb": (1.5, "max"),
}


def _get(data: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _met(target: str, value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not measured"
    limit, kind = TARGETS[target]
    return "yes" if (value >= limit if kind == "min" else value <= limit) else "**no**"


def target_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(figure, value, target, met?) for every target the results cover."""
    rows: list[tuple[str, str, str, str]] = []

    def add(target: str, label: str, value: float | None, fmt: Callable[[float], str]) -> None:
        limit, kind = TARGETS[target]
        bound = (">= " if kind == "min" else "<= ") + fmt(limit)
        rows.append((label, "-" if value is None else fmt(value), bound, _met(target, value)))

    tp = _get(results, "real_path", "throughput", "ours")
    if tp:
        add("throughput_ratio", "throughput, ours / 2-process floor", tp["ratio_to_pool"],
            lambda v: f"{v:.2f}x")
    ov = _get(results, "overhead")
    if ov and "cpu_ms_per_file" in ov:
        add("overhead_cpu_ms", "orchestration CPU per file (no-op extractors)",
            ov["cpu_ms_per_file"], lambda v: f"{v:.0f} ms")
        add("storage_kb", "Dagster storage per file", ov["dagster_bytes_per_file"] / KB,
            lambda v: f"{v:.1f} KB")
        pg = ov.get("postgres") or {}
        if "cpu_ms_per_file" in pg:
            batch = pg.get("event_batch_size") or "unset"
            add("overhead_pg_cpu_ms", "orchestration CPU per file, Dagster storage on PostgreSQL "
                f"(DAGSTER_EVENT_BATCH_SIZE {batch}), the server's CPU included "
                f"({pg['cpu_ms_per_file']:.0f} + {pg['server_cpu_ms_per_file']:.0f} ms)",
                pg["cpu_ms_per_file"] + pg["server_cpu_ms_per_file"],
                lambda v: f"{v:.0f} ms")
            add("storage_kb", "Dagster storage per file, on PostgreSQL",
                pg["dagster_bytes_per_file"] / KB, lambda v: f"{v:.1f} KB")
    lat = _get(results, "real_path", "latency")
    if lat:
        add("latency_p50_s", "single small file, drop to done, p50", lat["single_p50_s"],
            lambda v: f"{v:.1f} s")
    for backend, data in (_get(results, "scale") or {}).items():
        sizes = data.get("sizes") or {}
        if not sizes:
            continue
        top = max(sizes, key=int)
        at = sizes[top]
        where = f"{int(top):,} partitions, {backend}"
        seconds: Callable[[float], str] = lambda v: f"{v:.2f} s"  # noqa: E731
        add("sensor_tick_s", f"sensor tick: daemon iteration with 10 new files ({where})",
            _get(at, "daemon_tick_arrivals", "total_s"), seconds)
        add("sensor_tick_s", f"sensor tick: evaluation with 10 new files ({where})",
            at["sensor_arrivals_s"], seconds)
        add("partition_query_s", f"partition-status query, first after seeding ({where})",
            at["graphql_health_cold_s"], seconds)
        add("partition_query_s", f"partition-status query, warm, median of 3 ({where})",
            at["graphql_health_warm_s"], seconds)
        add("partition_query_s", f"partition-count query, slower of cold / warm ({where})",
            max(at["graphql_stats_cold_s"], at["graphql_stats_warm_s"]), seconds)
    for backend, data in (_get(results, "retention") or {}).items():
        for phase in (data.get("phases") or []) if isinstance(data, dict) else []:
            where = (f"{phase['arrivals']:,} files, {phase['phase']}, "
                     f"{phase['partitions']:,} partitions, {backend}")
            add("sensor_tick_s", f"run creation: daemon iteration with 10 new files ({where})",
                _get(phase, "daemon_tick_arrivals", "total_s"), lambda v: f"{v:.2f} s")
            add("partition_query_s", f"partition-status query, first after the change ({where})",
                phase["graphql_health_cold_s"], lambda v: f"{v:.2f} s")
    peaks = [v for key in ("run worker", "extraction worker")
             for v in [_get(results, "real_path", "memory", "peak_rss_mb", key),
                       _get(results, "real_path", "throughput", "ours", "by_role", key,
                            "peak_rss_mb")] if v is not None]
    if peaks:
        add("worker_rss_gb", "peak RSS of a worker (run / extraction)", max(peaks) * 2**20 / GB,
            lambda v: f"{v:.2f} GB")
    return rows


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def scale_table(results: dict[str, Any]) -> str:
    rows = []
    for backend, data in (_get(results, "scale") or {}).items():
        for size, at in sorted((data.get("sizes") or {}).items(), key=lambda kv: int(kv[0])):
            busy, idle = at.get("daemon_tick_arrivals") or {}, at.get("daemon_tick_idle") or {}
            rows.append([backend, f"{int(size):,}", f"{at['sensor_idle_s'] * 1000:.0f}",
                         f"{at['sensor_arrivals_s'] * 1000:.0f}",
                         f"{idle.get('total_s', math.nan) * 1000:.0f}",
                         f"{busy.get('total_s', math.nan) * 1000:.0f}",
                         f"{at.get('run_request_s_per_run', math.nan) * 1000:.0f}",
                         f"{at['graphql_health_cold_s']:.2f} / {at['graphql_health_warm_s']:.2f}",
                         f"{at['graphql_health_bytes'] / 2**20:.1f}",
                         f"{at['graphql_stats_cold_s']:.2f} / {at['graphql_stats_warm_s']:.2f}"])
    return _table(["storage", "partitions", "sensor idle ms", "sensor +10 files ms",
                   "daemon tick idle ms", "daemon tick +10 files ms", "run request ms/run",
                   "status query s (cold / warm)", "status reply MB",
                   "counts query s (cold / warm)"], rows)


def retention_table(results: dict[str, Any]) -> str:
    rows = []
    for backend, data in (_get(results, "retention") or {}).items():
        if not isinstance(data, dict):
            continue
        for p in data.get("phases") or []:
            busy = p.get("daemon_tick_arrivals") or {}
            retired = (f"{p['retire_s']:.1f} s: {p['retired_keys']:,} keys, "
                       f"{p['runs_deleted']} runs" if "retire_s" in p else "none")
            rows.append([backend, f"{p['arrivals']:,}", f"{p['partitions']:,}",
                         retired, f"{busy.get('total_s', math.nan):.2f}",
                         f"{p.get('run_request_s_per_run', math.nan) * 1000:.0f}",
                         f"{p['graphql_health_cold_s']:.2f} / {p['graphql_health_warm_s']:.2f}",
                         f"{p['graphql_stats_cold_s']:.2f} / {p['graphql_stats_warm_s']:.2f}"])
        if data.get("stopped_at"):
            rows.append([backend, f"budget spent at {data['stopped_at']:,} arrivals", "", "",
                         "", "", "", ""])
    return _table(["storage", "arrivals", "partitions", "retirement pass",
                   "daemon tick +10 files s", "run request ms/run",
                   "status query s (cold / warm)", "counts query s (cold / warm)"], rows)


def detail_rows(results: dict[str, Any]) -> list[list[str]]:
    """Figures without a target that explain the ones with one."""
    rows: list[list[str]] = []
    tp = _get(results, "real_path", "throughput")
    if tp and "ours" in tp:
        n = tp["ours"]["files"]
        for name, data in (("ours (sensor -> daemon -> runs)", tp["ours"]),
                           ("plain loop", tp["loop"]),
                           ("2-process pool, before the daemon", tp["pool_before"]),
                           ("2-process pool, after the daemon", tp["pool_after"])):
            rows.append([f"throughput, {name}", f"{data['files_per_min']:.1f} files/min, "
                         f"{data['cpu_s'] / n:.2f} s CPU/file, {data['wall_s']:.0f} s wall, "
                         f"other load {data.get('other_cores', math.nan):.1f} cores"])
        extra = (tp["ours"]["cpu_s"] - tp["loop"]["cpu_s"]) / n
        rows.append(["CPU on top of the real work, per file (ours - loop)", f"{extra:.2f} s"])
        rows.append(["CPU efficiency, 2-process floor CPU / ours (noise-robust ratio)",
                     f"{tp['pool']['cpu_s'] / tp['ours']['cpu_s']:.2f}x"])
        rows.append(["throughput mix", ", ".join(f"{v} {k}" for k, v in tp["mix"].items())])
    lat = _get(results, "real_path", "latency")
    if lat:
        rows.append(["single small file, each drop (s)",
                     ", ".join(f"{v:.1f}" for v in lat["single_s"])])
        if "single_registered_p50_s" in lat:
            rows.append(["single small file, drop to registered by the sensor, p50",
                         f"{lat['single_registered_p50_s']:.1f} s"])
        rows.append([f"burst of {lat['burst_files']} files, drop to done p50 / p95",
                     f"{lat['burst_p50_s']:.1f} s / {lat['burst_p95_s']:.1f} s"])
    ov = _get(results, "overhead")
    if ov and "wall_ms_per_file" in ov:
        rows.append(["orchestration wall per file (no-op, 2 runs at a time)",
                     f"{ov['wall_ms_per_file']:.0f} ms (other load "
                     f"{ov.get('other_cores', math.nan):.1f} cores)"])
        rows.append(["runs per file", f"{ov['runs'] / ov['files']:.2f}"])
        parts = sorted(ov.get("dagster_bytes_per_file_by_part", {}).items(),
                       key=lambda kv: -kv[1])[:4]
        rows.append(["Dagster storage per file by part",
                     ", ".join(f"{k} {v / KB:.1f} KB" for k, v in parts)])
        cpu = sorted(ov.get("cpu_s_by_role", {}).items(), key=lambda kv: -kv[1])[:4]
        rows.append(["no-op CPU per file by process role (sampled)",
                     ", ".join(f"{k} {v / ov['files'] * 1000:.0f} ms" for k, v in cpu)])
    mem = _get(results, "real_path", "memory")
    if mem:
        rows.append([f"peak RSS while transcribing {mem['file']}",
                     ", ".join(f"{k} {v:.0f} MB" for k, v in mem["peak_rss_mb"].items())])
    return rows


def render(results: dict[str, Any]) -> str:
    """A Markdown summary: the target table, details, then the scale table."""
    parts = ["## Figures against targets", "",
             _table(["figure", "measured", "target", "met?"],
                    [list(r) for r in target_rows(results)])]
    details = detail_rows(results)
    if details:
        parts += ["", "## Details", "", _table(["figure", "measured"], details)]
    if _get(results, "scale"):
        parts += ["", "## Scale", "", scale_table(results)]
    if _get(results, "retention"):
        parts += ["", "## Retention", "", retention_table(results)]
    errors = {k: v["error"] for k, v in results.items() if isinstance(v, dict) and "error" in v}
    errors.update({f"scale/{k}": v["error"] for k, v in (_get(results, "scale") or {}).items()
                   if isinstance(v, dict) and "error" in v})
    if errors:
        parts += ["", "## Errors", ""] + [f"- {k}: {v}" for k, v in errors.items()]
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.report RESULTS.json``: print the summary of a results file."""
    import json
    import sys
    from pathlib import Path

    paths = argv if argv is not None else sys.argv[1:]
    for path in paths:
        print(render(json.loads(Path(path).read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
