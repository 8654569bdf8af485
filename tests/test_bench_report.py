"""The benchmark summary's target table, from small results dicts (no benchmark is run)."""

from __future__ import annotations

from typing import Any

from benchmarks.report import render
from benchmarks.targets import FIGURES, issue_rows


def _run(ratio: float, cpu_ratio: float) -> dict[str, Any]:
    return {"files": 30, "wall_s": 60.0, "cpu_s": 100.0, "files_per_min": 30.0,
            "other_cores": 0.1, "ratio": ratio, "cpu_ratio": cpu_ratio,
            "floor": {"files_per_min": 30.0 * ratio, "wall_s": 60.0 * ratio, "cpu_s": 90.0}}


def _batch(ratios: list[float]) -> dict[str, Any]:
    runs = [_run(r, r + 0.1) for r in ratios]
    pool = {"files_per_min": 30.0, "wall_s": 60.0, "cpu_s": 90.0, "other_cores": 0.0}

    def spread(values: list[float]) -> dict[str, Any]:
        return {"median": sorted(values)[len(values) // 2], "min": min(values),
                "max": max(values), "runs": values}

    return {"files": 30, "mix": {"document": 10, "image": 10, "audio": 10},
            "pools": [pool] * (len(runs) + 1), "repeats": runs,
            "ratio": spread(ratios), "cpu_ratio": spread([r + 0.1 for r in ratios])}


def _scale_size(tick_s: float, status_s: float) -> dict[str, Any]:
    return {"sensor_idle_s": 0.05, "sensor_arrivals_s": 0.1,
            "daemon_tick_arrivals": {"total_s": tick_s}, "daemon_tick_idle": {"total_s": 0.1},
            "run_request_s_per_run": 0.05, "graphql_health_cold_s": status_s,
            "graphql_health_warm_s": 0.5, "graphql_health_bytes": 2**20,
            "graphql_stats_cold_s": 0.3, "graphql_stats_warm_s": 0.2}


def _phase(arrivals: int) -> dict[str, Any]:
    return {"arrivals": arrivals, "phase": "99% retired", "partitions": arrivals // 100,
            "retire_s": 5.0, "retired_keys": arrivals, "runs_deleted": 10,
            **_scale_size(0.8, 0.2)}


RESULTS: dict[str, Any] = {
    "real_path": {"throughput": {**_batch([0.85, 0.95, 0.92]),
                                 "loop": {"files_per_min": 20.0, "wall_s": 90.0, "cpu_s": 80.0}},
                  "burst": _batch([0.7])},
    "overhead": {"files": 200, "cpu_ms_per_file": 55.0, "dagster_bytes_per_file": 40 * 1024,
                 "postgres": {"error": "PostgreSQL unavailable"}},
    "scale": {"sqlite": {"sizes": {"1000": _scale_size(0.1, 0.1),
                                   "100000": _scale_size(0.9, 1.5)}},
              "postgres": {"sizes": {"100000": _scale_size(1.2, 2.5)}}},
    "retention": {"sqlite": {"phases": [_phase(100_000), _phase(500_000)],
                             "stopped_at": 500_000}},
}


def test_one_row_per_target_in_order_with_its_command() -> None:
    rows = issue_rows(RESULTS)

    assert [r.figure for r in rows] == [f[0] for f in FIGURES]
    assert [r.command for r in rows] == [
        f"`python -m benchmarks --only {name}`" for name in
        ("throughput", "burst", "overhead", "overhead", "overhead", "scale", "scale", "latency",
         "retention")]


def test_rows_against_their_targets() -> None:
    throughput, burst, cpu, cpu_pg, storage, creation, status, latency, million = (
        issue_rows(RESULTS))

    assert throughput.measured.startswith("**0.92x** (median of 3 runs, min–max 0.85x–0.95x")
    assert "by CPU 1.02x (0.95x–1.05x)" in throughput.measured
    assert throughput.met == "yes"
    assert burst.measured.startswith("**0.70x** (1 run")
    assert burst.met == "**no**"
    assert (cpu.measured, cpu.met) == ("55 ms", "yes")
    assert cpu_pg.measured == "not measured (run: `python -m benchmarks --only overhead`)"
    assert (storage.measured, storage.met) == ("40.0 KB", "**no**")
    assert (creation.measured, creation.met) == ("sqlite 0.90 s, postgres 1.20 s", "**no**")
    assert (status.measured, status.met) == ("postgres 2.50 s", "**no**")
    assert latency.measured.startswith("not measured (run: `python -m benchmarks --only latency`")
    assert "500,000 arrivals, budget spent before 1,000,000" in million.measured
    assert million.met == "limits met; 1M not reached (sqlite stopped at 500,000)"


def test_rows_not_measured_name_their_command() -> None:
    rows = issue_rows({"overhead": {"error": "boom"}})

    by_command = {r.command: r for r in rows}
    assert rows[0].measured == "not measured (run: `python -m benchmarks --only throughput`)"
    assert by_command["`python -m benchmarks --only latency`"].met == "-"
    assert by_command["`python -m benchmarks --only overhead`"].measured == "failed (see Errors)"


def test_short_of_100k_partitions_is_not_a_verdict() -> None:
    results = {"scale": {"sqlite": {"sizes": {"1000": _scale_size(0.1, 0.1)}}}}

    row = [r for r in issue_rows(results) if r.figure.startswith("run creation")][0]
    assert (row.measured, row.met) == ("sqlite 0.10 s at 1,000 partitions", "not measured at 100k")


def test_summary_renders_targets_then_details() -> None:
    summary = render(RESULTS)

    assert summary.startswith("## Figures against targets\n\n| figure | target | measured | met? "
                              "| command |")
    assert "| cold burst, ours run 1 (between floor runs 1 and 2) |" in summary
    assert "throughput, ours / plain loop (median run) | 1.50x |" in summary
    assert "## Scale" in summary and "## Retention" in summary
