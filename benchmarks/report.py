"""Results (the JSON ``benchmarks.run`` writes) as Markdown: figures against targets, details."""

from __future__ import annotations

import math
from typing import Any

from benchmarks.common import median
from benchmarks.targets import KB, extra_rows, get, issue_rows


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def scale_table(results: dict[str, Any]) -> str:
    rows = []
    for backend, data in (get(results, "scale") or {}).items():
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
    for backend, data in (get(results, "retention") or {}).items():
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


def _batch_rows(part: str, data: dict[str, Any] | None) -> list[list[str]]:
    """Each run of a batch against the floor runs around it (``benchmarks.batches``)."""
    if not data or "repeats" not in data:
        return []
    n = data["files"]

    def line(run: dict[str, Any]) -> str:
        return (f"{run['files_per_min']:.1f} files/min, {run['cpu_s'] / n:.2f} s CPU/file, "
                f"{run['wall_s']:.0f} s wall, other load {run.get('other_cores', math.nan):.1f}"
                " cores")

    name = "cold burst" if part == "burst" else part
    rows = [[f"{name}, 2-process floor run {i + 1}", line(pool)]
            for i, pool in enumerate(data["pools"])]
    for i, run in enumerate(data["repeats"]):
        rows.append([f"{name}, ours run {i + 1} (between floor runs {i + 1} and {i + 2})",
                     f"{line(run)}; {run['ratio']:.2f}x, by CPU {run['cpu_ratio']:.2f}x"])
    loop = data.get("loop")
    if loop:
        ours = median([r["files_per_min"] for r in data["repeats"]])
        extra = median([r["cpu_s"] for r in data["repeats"]]) - loop["cpu_s"]
        rows.append([f"{name}, plain loop (once, before the daemon)", line(loop)])
        rows.append([f"{name}, ours / plain loop (median run)",
                     f"{ours / loop['files_per_min']:.2f}x"])
        rows.append(["CPU on top of the real work, per file (ours median - loop)",
                     f"{extra / n:.2f} s"])
    rows.append([f"{name} mix", ", ".join(f"{v} {k}" for k, v in data["mix"].items())])
    return rows


def detail_rows(results: dict[str, Any]) -> list[list[str]]:
    """Figures without a target that explain the ones with one."""
    rows: list[list[str]] = []
    for part in ("burst", "throughput"):
        rows += _batch_rows(part, get(results, "real_path", part))
    lat = get(results, "real_path", "latency")
    if lat:
        rows.append(["single small file, each drop (s)",
                     ", ".join(f"{v:.1f}" for v in lat["single_s"])])
        if "single_registered_p50_s" in lat:
            rows.append(["single small file, drop to registered by the sensor, p50",
                         f"{lat['single_registered_p50_s']:.1f} s"])
        rows.append([f"burst of {lat['burst_files']} files, drop to done p50 / p95",
                     f"{lat['burst_p50_s']:.1f} s / {lat['burst_p95_s']:.1f} s"])
    ov = get(results, "overhead")
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
    mem = get(results, "real_path", "memory")
    if mem:
        rows.append([f"peak RSS while transcribing {mem['file']}",
                     ", ".join(f"{k} {v:.0f} MB" for k, v in mem["peak_rss_mb"].items())])
    return rows


def render(results: dict[str, Any]) -> str:
    """A Markdown summary: the target table, details, then the scale table."""
    rows = [[r.figure, r.target, r.measured, r.met, r.command]
            for r in issue_rows(results) + extra_rows(results)]
    parts = ["## Figures against targets", "",
             _table(["figure", "target", "measured", "met?", "command"], rows)]
    details = detail_rows(results)
    if details:
        parts += ["", "## Details", "", _table(["figure", "measured"], details)]
    if get(results, "scale"):
        parts += ["", "## Scale", "", scale_table(results)]
    if get(results, "retention"):
        parts += ["", "## Retention", "", retention_table(results)]
    if get(results, "formats", "table"):
        parts += ["", "## Formats (ours, markitdown, kreuzberg on tests/realworld)", "",
                  results["formats"]["table"]]
    if get(results, "pages", "table"):
        parts += ["", "## Pages (ours, plain tesseract, kreuzberg on tests/realworld/pages)", "",
                  results["pages"]["table"]]
    if get(results, "search", "table"):
        parts += ["", "## Search by words, meaning and both (judged queries)", "",
                  results["search"]["table"]]
    errors = {k: v["error"] for k, v in results.items() if isinstance(v, dict) and "error" in v}
    errors.update({f"scale/{k}": v["error"] for k, v in (get(results, "scale") or {}).items()
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
