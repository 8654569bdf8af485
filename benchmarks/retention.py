"""Retention: run creation and the UI's partition queries when only active files are partitions.

``run_retention`` runs ``python -m benchmarks.retention`` once per storage backend (its own
process, environment and Dagster instance, as the scale benchmark does). On one backend:

1. ``--base`` files behind (100k: partitions, done records, a finished ``process_file`` run
   per 1,000 files whose events are their materializations), none retired: the scale
   benchmark's figures (``scale.measure_size``: the sensor in-process, a daemon iteration
   creating the runs for 10 new files, the partition-status and -count queries);
2. the product's retirement pass (``defs.retention.retire``, 30 days) on a clock moved 31
   days on, the newest 1% having finished a day before it: 99% retired, with the runs that
   covered only them; its time, then the same figures;
3. further arrivals in waves of ``--base``, each seeded and then retired down to the newest
   1% of all arrivals, up to ``--arrivals`` (1M) or until ``--budget-s`` is spent; the same
   figures after each wave.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import fileproc_env, fileproc_init, log, python_path

RUN_SIZE = 1000  # the real path runs 50 files per run; 1,000 keeps seeding within minutes
KEEP = 0.01
RETAIN_DAYS = 30.0
DATABASES = ["fileproc_bench_retention", "fileproc_bench_retention_records"]


def _finished_at(db_url: str, keys: Sequence[str], at: datetime) -> None:
    """Set when these seeded records finished (the simulated clock)."""
    from fileproc_dagster.storage.records import Records
    from fileproc_dagster.storage.schema import files

    with Records(db_url).db.engine.begin() as conn:
        for i in range(0, len(keys), 500):
            conn.execute(files.update().where(files.c.key.in_(list(keys[i:i + 500])))
                         .values(updated_at=at))


def _retire(instance: Any, db_url: str, arrivals: int, recent: list[str],
            now: datetime) -> tuple[list[str], dict[str, Any]]:
    """Age the files that were recent, keep the newest 1% of all arrivals recent, retire."""
    from benchmarks.seed import synthetic_keys
    from fileproc_dagster.defs.retention import retire
    from fileproc_dagster.storage.records import Records
    from fileproc_dagster.storage.retention import Retention

    _finished_at(db_url, recent, now)
    keep = synthetic_keys(arrivals - int(arrivals * KEEP), arrivals)
    later = now + timedelta(days=RETAIN_DAYS + 1)
    _finished_at(db_url, keep, later - timedelta(days=1))
    began = time.perf_counter()
    done = retire(instance, Records(db_url), Retention(RETAIN_DAYS), later, limit=10**7)
    seconds = time.perf_counter() - began
    return keep, {"retire_s": seconds, "retired_keys": len(done.keys),
                  "runs_deleted": len(done.runs), "partitions_left": done.remaining}


def run_backend(backend: str, root: Path, base: int, arrivals: int, budget_s: float,
                dagster_pg: str | None, records_pg: str | None) -> dict[str, Any]:
    """Every phase on one backend, in this process (its environment is changed)."""
    interval_s = 1
    db_url = records_pg if backend == "postgres" else None
    env = fileproc_env(root / "home", root / "dagster_home", interval_s, db_url=db_url,
                       FILEPROC_RETIRE_AFTER_DAYS="off")  # the benchmark retires, not the clock
    os.environ.clear()
    os.environ.update(env)
    fileproc_init(env, dagster_pg if backend == "postgres" else None)

    import dagster as dg

    from benchmarks.daemon_tick import SensorLoop
    from benchmarks.scale import MODULE, InProcessSensor, measure_size
    from benchmarks.seed import seed
    from benchmarks.ui_queries import Webserver

    instance = dg.DagsterInstance.get()
    web = Webserver(MODULE, env, root / "webserver.log")
    url, uploads = env["FILEPROC_DB_URL"], Path(env["FILEPROC_UPLOAD_DIR"])
    # Runs no larger than the 1% kept, so the kept files' runs do not hold older ones back.
    run_size = min(RUN_SIZE, max(1, int(base * KEEP)))
    results: dict[str, Any] = {"backend": backend, "run_size": run_size, "phases": []}
    loop = SensorLoop(instance, MODULE)
    started, done = time.perf_counter(), 0
    recent: list[str] = []
    seeding: dict[str, float] = {}

    def measure(label: str, extra: dict[str, Any]) -> None:
        partitions = len(instance.get_dynamic_partitions("uploads"))
        log(f"retention/{backend}: measuring at {done} arrivals, {label} ({partitions} "
            "partitions)")
        figures = measure_size(done, sensor, loop, web, uploads, url, interval_s,
                               label=f"{done} {label}")
        results["phases"].append({"arrivals": done, "phase": label, "partitions": partitions,
                                  "seed_s": seeding, **extra, **figures})

    try:
        sensor = InProcessSensor(instance)
        web.wait_ready()
        while done < arrivals:
            size = min(done + base, arrivals)
            log(f"retention/{backend}: seeding {done} -> {size}")
            seeding = seed(instance, url, done, size, run_size=run_size)
            done = size
            if done == base:  # the same history before retirement
                measure("none retired", {})
            recent, retired = _retire(instance, url, done, recent, datetime.now(UTC))
            measure("99% retired", retired)
            results["elapsed_s"] = time.perf_counter() - started
            if results["elapsed_s"] > budget_s and done < arrivals:
                results["stopped_at"] = done
                log(f"retention/{backend}: budget of {budget_s:.0f} s spent at {done}")
                break
    finally:
        loop.close()
        web.stop()
        instance.dispose()
    return results


def run_retention(root: Path, backends: Sequence[str], pg_admin_url: str, base: int = 100_000,
                  arrivals: int = 1_000_000, budget_s: float = 600) -> dict[str, Any]:
    """Each backend in its own child process; PostgreSQL databases created and dropped."""
    from benchmarks.pg import run_backend

    results: dict[str, Any] = {}
    for backend in backends:
        out_path = root / f"retention-{backend}.json"
        command = [sys.executable, "-m", "benchmarks.retention", "--backend", backend,
                   "--root", str(root / backend), "--base", str(base),
                   "--arrivals", str(arrivals), "--budget-s", str(budget_s),
                   "--json", str(out_path)]
        (root / backend).mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONPATH": python_path()}
        results[backend] = run_backend(command, backend, out_path, pg_admin_url, DATABASES,
                                       env, timeout_s=budget_s * 3 + 1800)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Retention benchmark on one storage backend.")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--base", type=int, default=100_000)
    parser.add_argument("--arrivals", type=int, default=1_000_000)
    parser.add_argument("--budget-s", type=float, default=600)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--dagster-pg")
    parser.add_argument("--records-pg")
    args = parser.parse_args(argv)
    results = run_backend(args.backend, args.root, args.base, args.arrivals, args.budget_s,
                          args.dagster_pg, args.records_pg)
    args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
