"""Orchestration overhead: the real path with no-op extractors, against a no-op plain loop.

The daemon loads ``benchmarks.noop_location`` (the product's definitions with detection and
extraction replaced by constant functions), so what remains is everything else a file
costs: sensor, partitions, runs, run workers, the extraction worker process, the object
store copy, the records, notifications and Dagster's own storage.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import log
from benchmarks.corpus import build_batch, find, load_mix
from benchmarks.daemon import DaemonSession, done_time, warm_up
from benchmarks.floor import run_floor
from benchmarks.pg import DEFAULT_ADMIN_URL, temporary_databases
from benchmarks.procs import machine_busy_cpu, server_cpu

MODULE = "benchmarks.noop_location"
BATCH_VARIABLE = "DAGSTER_EVENT_BATCH_SIZE"
PRODUCTION_BATCH_SIZE = "50"


def run_overhead(corpus: Path, root: Path, files: int, backends: Sequence[str] = ("sqlite",),
                 pg_admin_url: str = DEFAULT_ADMIN_URL) -> dict[str, Any]:
    """CPU and wall per file above the no-op loop, and Dagster storage per file: on the
    embedded default (SQLite), then, with "postgres" in ``backends``, with Dagster's storage
    and the records on PostgreSQL and events written in batches as production does (under
    the ``postgres`` key)."""
    mix = load_mix(corpus)
    batch = build_batch(root / "stage", mix, files, "o")
    warm = build_batch(root / "stage-warm", [find(corpus, "garden_committee_notes.txt")], 1, "w")
    loop = run_floor([b.path for b in batch], workers=1, noop=True)
    log(f"overhead: no-op loop {loop.wall_s:.2f} s wall, {loop.cpu_s:.2f} s CPU")
    result = _measure(DaemonSession(root / "daemon", module=MODULE), batch, warm, loop)
    if "postgres" in backends:
        try:
            with temporary_databases(pg_admin_url, ["fileproc_bench", "fileproc_bench_records"]
                                     ) as (dagster_url, records_url):
                result["postgres"] = _measure(DaemonSession(
                    root / "daemon-pg", module=MODULE, dagster_pg=dagster_url,
                    records_url=records_url, extra_env=production_env()), batch, warm, loop)
        except RuntimeError as exc:
            result["postgres"] = {"error": f"PostgreSQL unavailable: {exc}"}
    return result


def production_env() -> dict[str, str]:
    """What production sets beside the instance config: events written in batches
    (``DAGSTER_EVENT_BATCH_SIZE``, 50 as in docs/production.md), unless this environment says
    otherwise (``0``: one write per event)."""
    return {BATCH_VARIABLE: os.environ.get(BATCH_VARIABLE, PRODUCTION_BATCH_SIZE)}


def _measure(session: DaemonSession, batch: list[Any], warm: list[Any],
             loop: Any) -> dict[str, Any]:
    session.start()
    try:
        warm_up(session, warm[0].path)
        assert session.monitor is not None
        storage_before, parts_before = session.dagster_bytes(), session.dagster_breakdown()
        runs_before = session.instance.get_runs_count()
        cpu_start, baseline = session.monitor.cpu_mark(), session.monitor.cpu_by_pid()
        busy, started = machine_busy_cpu(), time.time()
        server_start = server_cpu() if session.dagster_pg else 0.0
        drops = session.drop_all(b.path for b in batch)
        records = session.wait_ended(drops, 120 + 15 * len(drops))
        session.wait_idle()
        cpu = session.monitor.cpu_mark() - cpu_start
        server = server_cpu() - server_start if session.dagster_pg else 0.0
        others = (machine_busy_cpu() - busy - cpu - server) / (time.time() - started)
        wall = max(done_time(r) for r in records.values()) - started
        storage_after, parts_after = session.dagster_bytes(), session.dagster_breakdown()
        roles = session.monitor.by_role(baseline)
        runs = session.instance.get_runs_count() - runs_before
    finally:
        session.stop()
    n = len(batch)
    result: dict[str, Any] = {
        "files": n, "runs": runs, "event_batch_size": session.env.get(BATCH_VARIABLE, ""),
        "planned_event_subsets": session.env.get(
            "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", ""),
        "states": dict(Counter(r.state for r in records.values())),
        "ours_wall_s": wall, "ours_cpu_s": cpu, "other_cores": max(others, 0.0),
        "loop_wall_s": loop.wall_s, "loop_cpu_s": loop.cpu_s,
        "cpu_ms_per_file": (cpu - loop.cpu_s) / n * 1000,
        "server_cpu_ms_per_file": server / n * 1000,
        "wall_ms_per_file": (wall - loop.wall_s) / n * 1000,
        "dagster_bytes_per_file": (storage_after - storage_before) / n,
        "dagster_bytes_total": storage_after,
        "dagster_bytes_per_file_by_part": {
            part: (size - parts_before.get(part, 0)) / n for part, size in parts_after.items()},
        "cpu_s_by_role": {role: r["cpu_s"] for role, r in roles.items()},
        "processes_by_role": {role: r["processes"] for role, r in roles.items()},
    }
    where = "PostgreSQL" if session.dagster_pg else "SQLite"
    log(f"overhead ({where}): {result['cpu_ms_per_file']:.0f} ms CPU "
        f"(+ {result['server_cpu_ms_per_file']:.0f} ms database server), "
        f"{result['wall_ms_per_file']:.0f} ms wall, "
        f"{result['dagster_bytes_per_file'] / 1024:.1f} KB Dagster storage per file")
    return result
