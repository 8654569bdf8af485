"""Scale: sensor tick, run requests and the UI's partition queries with 1k..100k files behind.

``run_scale`` runs ``python -m benchmarks.scale`` once per storage backend (its own process,
environment and Dagster instance). For each size, cumulatively: seed the history
(benchmarks.seed), then measure

- the sensor evaluated in-process (``build_sensor_context`` + the sensor of the definitions),
  idle and with 10 new files;
- one daemon iteration (gRPC evaluation + partitions + queued runs) with 10 new files, and an
  idle one (benchmarks.daemon_tick);
- the partition-status and partition-count GraphQL queries against dagster-webserver
  (benchmarks.ui_queries): the first call after seeding (status cache cold), then warm.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import fileproc_env, fileproc_init, log, median, python_path
from fileproc_dagster.settings import Settings

MODULE = "fileproc_dagster.definitions"
ARRIVALS = 10
ASSET = {"path": ["file_description"]}


def _definitions() -> Any:
    import dagster as dg

    from fileproc_dagster import definitions

    loaded = definitions.defs
    return loaded if isinstance(loaded, dg.Definitions) else loaded()


class InProcessSensor:
    """The code location's (only) sensor, evaluated with Dagster's sensor context."""

    def __init__(self, instance: Any) -> None:
        import dagster as dg

        definitions = _definitions()
        self.sensor = next(iter(definitions.sensors))
        self.resources = {k: definitions.resources[k] for k in self.sensor.required_resource_keys}
        self.instance = instance
        self.cursor: str | None = None
        self._build = dg.build_sensor_context

    def evaluate(self) -> float:
        with self._build(instance=self.instance, cursor=self.cursor,
                         resources=self.resources) as context:
            started = time.perf_counter()
            result = self.sensor(context)
            elapsed = time.perf_counter() - started
        self.cursor = getattr(result, "cursor", None) or self.cursor
        return elapsed


def _arrive(upload_dir: Path, label: str) -> None:
    for i in range(ARRIVALS):
        (upload_dir / f"arrival {label} {i}.txt").write_text(f"New upload {label} number {i}.\n")


def _settle(upload_dir: Path, db_url: str) -> None:
    """Back to a history of finished files: arrivals removed, their uploads marked deleted."""
    from fileproc_dagster.storage.records import Records
    from fileproc_dagster.storage.schema import uploads as uploads_table

    for path in upload_dir.glob("arrival *"):
        path.unlink()
    with Records(db_url).db.engine.begin() as conn:
        conn.execute(uploads_table.update().where(uploads_table.c.state == "pending")
                     .values(state="deleted"))


def measure_size(size: int, sensor: InProcessSensor, loop: Any, web: Any, upload_dir: Path,
                 db_url: str, interval_s: float, label: str | None = None) -> dict[str, Any]:
    """The figures at one size; ``label`` names the arrivals (new content each time)."""
    label = label or str(size)
    out: dict[str, Any] = {}
    out["sensor_idle_s"] = median([sensor.evaluate() for _ in range(5)])
    settle_s = Settings.from_env().settle_s
    _arrive(upload_dir, f"{label} in-process")
    time.sleep(settle_s + 0.2)  # settled: the next look registers them and requests runs
    out["sensor_arrivals_s"] = sensor.evaluate()
    _settle(upload_dir, db_url)

    if loop is not None:
        _arrive(upload_dir, f"{label} daemon")
        time.sleep(settle_s + 0.2)
        busy = loop.tick()
        if not busy["runs"]:
            raise RuntimeError(f"the daemon tick requested no run for {ARRIVALS} new files")
        time.sleep(interval_s + 0.2)
        idle = loop.tick()
        out["daemon_tick_arrivals"] = busy
        out["daemon_tick_idle"] = idle
        out["run_request_s_per_run"] = (busy["total_s"] - busy["evaluation_s"]) / busy["runs"]
        _settle(upload_dir, db_url)

    from benchmarks.ui_queries import PARTITION_HEALTH, PARTITION_STATS

    for name, query in (("health", PARTITION_HEALTH), ("stats", PARTITION_STATS)):
        calls = [web.query(query, {"assetKey": ASSET}) for _ in range(4)]
        out[f"graphql_{name}_cold_s"] = calls[0][0]
        out[f"graphql_{name}_warm_s"] = median([c[0] for c in calls[1:]])
        out[f"graphql_{name}_bytes"] = calls[-1][1]
        if name == "stats":
            out["graphql_stats"] = calls[-1][2]["assetNodeOrError"]["partitionStats"]
    return out


def run_backend(backend: str, root: Path, sizes: Sequence[int], dagster_pg: str | None,
                records_pg: str | None) -> dict[str, Any]:
    """Every size on one backend, in this process (its environment is changed)."""
    interval_s = 1
    home, dagster_home = root / "home", root / "dagster_home"
    db_url = records_pg if backend == "postgres" else None
    env = fileproc_env(home, dagster_home, interval_s, db_url=db_url)
    os.environ.clear()
    os.environ.update(env)
    fileproc_init(env, dagster_pg if backend == "postgres" else None)

    import dagster as dg

    from benchmarks.daemon_tick import SensorLoop
    from benchmarks.seed import seed
    from benchmarks.ui_queries import Webserver

    instance = dg.DagsterInstance.get()
    web = Webserver(MODULE, env, root / "webserver.log")
    results: dict[str, Any] = {"backend": backend, "sizes": {}}
    loop = None
    try:
        sensor = InProcessSensor(instance)
        try:
            loop = SensorLoop(instance, MODULE)
        except Exception as exc:  # noqa: BLE001 - internals moved: report, measure the rest
            results["daemon_tick_error"] = repr(exc)
        web.wait_ready()
        done = 0
        for size in sizes:
            log(f"scale/{backend}: seeding {done} -> {size}")
            seeding = seed(instance, env["FILEPROC_DB_URL"], done, size)
            done = size
            log(f"scale/{backend}: measuring at {size} ({seeding})")
            figures = measure_size(size, sensor, loop, web, Path(env["FILEPROC_UPLOAD_DIR"]),
                                   env["FILEPROC_DB_URL"], interval_s)
            results["sizes"][str(size)] = {"seed_s": seeding, **figures}
    finally:
        if loop is not None:
            loop.close()
        web.stop()
        instance.dispose()
    return results


def run_scale(root: Path, sizes: Sequence[int], backends: Sequence[str],
              pg_admin_url: str, timeout_s: float = 2400) -> dict[str, Any]:
    """Each backend in its own child process; PostgreSQL databases created and dropped."""
    from benchmarks.pg import run_backend

    results: dict[str, Any] = {}
    for backend in backends:
        out_path = root / f"scale-{backend}.json"
        command = [sys.executable, "-m", "benchmarks.scale", "--backend", backend,
                   "--root", str(root / backend), "--sizes", ",".join(map(str, sizes)),
                   "--json", str(out_path)]
        (root / backend).mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONPATH": python_path()}
        results[backend] = run_backend(command, backend, out_path, pg_admin_url,
                                       ["fileproc_bench", "fileproc_bench_records"], env,
                                       timeout_s)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Scale benchmark on one storage backend.")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--sizes", required=True)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--dagster-pg")
    parser.add_argument("--records-pg")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    results = run_backend(args.backend, args.root, sizes, args.dagster_pg, args.records_pg)
    args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
