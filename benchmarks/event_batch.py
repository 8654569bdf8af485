"""DAGSTER_EVENT_BATCH_SIZE on a PostgreSQL instance: what a file costs with and without it.

``python -m benchmarks.event_batch`` materializes the four assets for N tiny .txt files, in
runs over ranges of partitions as the upload sensor requests them, in this process, on the
production instance config (deploy/dagster.yaml) with Dagster's storage and the records in
throwaway PostgreSQL databases. It does so with the variable unset and set to each size,
interleaved, and reports the median of the repeats per file: wall time, CPU of this process
and its children (the extraction worker), and what the Dagster database's server side
counted (connections opened, time executing statements; from pg_stat_database, so other
users of a shared server do not blur it). The wall time is only as good as the machine is
quiet: the load other processes put on it meanwhile is reported beside it.

Dagster reads the variable at every event: a run worker writes the materializations of a
multi-partition step in batches of that size (one INSERT and one index transaction per
batch instead of per event; dagster-postgres opens a connection per transaction).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from benchmarks.common import log, median, tiny_files, tree_cpu_s
from benchmarks.pg import DEFAULT_ADMIN_URL, temporary_databases
from benchmarks.procs import machine_busy_cpu, server_cpu

VARIABLE = "DAGSTER_EVENT_BATCH_SIZE"
DATABASES = ["fileproc_bench_events", "fileproc_bench_events_records"]
# Events still go to the event log; only the console copy of each is left out.
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


@dataclass(frozen=True)
class Measure:
    """One pass over the files at one batch size (0: the variable unset)."""

    size: int
    files: int
    wall_s: float
    cpu_s: float
    sessions: int
    active_ms: float
    other_cores: float  # load of other users meanwhile (cores), for judging the wall time
    done: int


def _server_counts(admin_url: str, database: str) -> tuple[int, float]:
    """Sessions opened on ``database`` and milliseconds its backends spent executing."""
    import psycopg2

    conn = psycopg2.connect(admin_url, connect_timeout=10)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT sessions, active_time FROM pg_stat_database "
                           "WHERE datname = %s", (database,))
            sessions, active = cursor.fetchone()
    finally:
        conn.close()
    return int(sessions), float(active)



def measure(admin_url: str, root: Path, files: int, per_run: int, size: int,
            tag: str) -> Measure:
    """Process ``files`` new tiny files in runs of ``per_run`` on fresh databases."""
    import dagster as dg

    from fileproc_dagster.app.instance import prepare_dagster_home
    from fileproc_dagster.definitions import ASSETS, build_resources
    from fileproc_dagster.defs._dagster_compat import partition_range_tags
    from fileproc_dagster.defs.partitions import UPLOADS
    from fileproc_dagster.intake.admit import admit
    from fileproc_dagster.settings import Settings
    from fileproc_dagster.storage.records import Received, Records
    from fileproc_dagster.storage.states import State

    with temporary_databases(admin_url, DATABASES) as (dagster_url, records_url), \
            tempfile.TemporaryDirectory(dir=root, prefix=f"{tag}-") as home:
        settings = Settings.from_env({"FILEPROC_HOME": home, "FILEPROC_DB_URL": records_url,
                                      "DAGSTER_HOME": f"{home}/dagster"})
        settings.ensure_dirs()
        prepare_dagster_home(settings.dagster_home, production=True)
        os.environ["DAGSTER_PG_URL"] = dagster_url
        records = Records(settings.db_url)
        keys = []
        for name in tiny_files(settings.upload_dir, files, tag):
            admitted = admit(settings.upload_dir, settings.quarantine_dir, name, records)
            assert isinstance(admitted, Received), f"{name} was not admitted: {admitted}"
            keys.append(admitted.key)
        resources = build_resources(settings)
        with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
            instance.add_dynamic_partitions(UPLOADS, keys)
            if size:
                os.environ[VARIABLE] = str(size)
            else:
                os.environ.pop(VARIABLE, None)
            sessions, active = _server_counts(admin_url, DATABASES[0])
            me = psutil.Process()
            busy, server = machine_busy_cpu(), server_cpu()
            cpu, started = tree_cpu_s(me), time.perf_counter()
            for i in range(0, len(keys), per_run):
                chunk = keys[i:i + per_run]
                dg.materialize(ASSETS, instance=instance, resources=resources,
                               tags=partition_range_tags(chunk[0], chunk[-1]),
                               run_config=QUIET, raise_on_error=False)
            wall, cpu = time.perf_counter() - started, tree_cpu_s(me) - cpu
            # Busy CPU of the machine beyond this process and the PostgreSQL server.
            others = (machine_busy_cpu() - busy - cpu - (server_cpu() - server)) / wall
            os.environ.pop(VARIABLE, None)
        time.sleep(1.0)  # backends report their counters when they end
        sessions_after, active_after = _server_counts(admin_url, DATABASES[0])
        done = sum(r.state is State.DONE for r in records.files.all())
    return Measure(size, files, wall, cpu, sessions_after - sessions, active_after - active,
                   max(others, 0.0), done)


def _summary(results: Sequence[Measure]) -> list[dict[str, float]]:
    rows = []
    for size in dict.fromkeys(m.size for m in results):
        runs = [m for m in results if m.size == size]
        n = runs[0].files
        rows.append({
            "size": size, "repeats": len(runs), "files": n,
            "wall_ms_per_file": median([m.wall_s for m in runs]) / n * 1000,
            "best_wall_ms_per_file": min(m.wall_s for m in runs) / n * 1000,
            "cpu_ms_per_file": median([m.cpu_s for m in runs]) / n * 1000,
            "pg_sessions_per_file": median([m.sessions for m in runs]) / n,
            "pg_active_ms_per_file": median([m.active_ms for m in runs]) / n,
            "other_cores": median([m.other_cores for m in runs]),
            "all_done": all(m.done == m.files for m in runs),
        })
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.event_batch",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100, help="files per pass")
    parser.add_argument("--per-run", type=int, default=50,
                        help="files per run (FILEPROC_MAX_BATCH's default)")
    parser.add_argument("--sizes", default="0,50",
                        help=f"{VARIABLE} values to compare, 0 for unset")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pg-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--tmp", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write every pass here")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    root = Path(tempfile.mkdtemp(prefix="fileproc-bench-events-", dir=args.tmp))
    try:
        log("warm-up pass (not counted)")
        measure(args.pg_url, root, min(10, args.files), args.per_run, 0, "warm")
        results = []
        for repeat in range(args.repeats):
            # Rotated each repeat so no size always runs first (or after the same one).
            order = sizes[repeat % len(sizes):] + sizes[:repeat % len(sizes)]
            for size in order:
                m = measure(args.pg_url, root, args.files, args.per_run, size,
                            f"r{repeat}s{size}")
                log(f"{VARIABLE}={size or 'unset'}: {m.wall_s:.1f} s wall, "
                    f"{m.cpu_s:.1f} s CPU, {m.sessions} sessions, {m.done}/{m.files} done, "
                    f"other load {m.other_cores:.2f} cores")
                results.append(m)
    except RuntimeError as exc:
        log(f"PostgreSQL unavailable: {exc}")
        return 2
    finally:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    rows = _summary(results)
    if args.json:
        args.json.write_text(json.dumps({"passes": [asdict(m) for m in results],
                                         "summary": rows}, indent=2))
    print(f"{args.files} tiny .txt files, {args.per_run} per run, median of {args.repeats}")
    print(f"{VARIABLE:<25} {'wall ms/file':>12} {'(best)':>7} {'CPU ms/file':>11} "
          f"{'PG sessions/file':>16} {'PG active ms/file':>17} {'other load':>10}  all done")
    for row in rows:
        print(f"{row['size'] or 'unset':<25} {row['wall_ms_per_file']:>12.1f} "
              f"{row['best_wall_ms_per_file']:>7.1f} {row['cpu_ms_per_file']:>11.1f} "
              f"{row['pg_sessions_per_file']:>16.1f} {row['pg_active_ms_per_file']:>17.1f} "
              f"{row['other_cores']:>10.2f}  {row['all_done']}")
    return 0 if all(row["all_done"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
