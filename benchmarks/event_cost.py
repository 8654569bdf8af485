"""What Dagster's event log costs per file on the embedded default (SQLite), variants A/B.

``python -m benchmarks.event_cost`` materializes the four assets for N tiny files with the
no-op extractors (``benchmarks.noop``), in runs over ranges of partitions as the upload
sensor requests them, on the packaged SQLite instance config, in a child process per pass.
It reports per file, the median of the repeats: CPU of the pass (run creation and execution,
the extraction worker included), wall time, bytes added under DAGSTER_HOME, and the events
written by type (rows in the per-run shards and in the cross-run index).

Variants take turns (rotated every repeat), so load changes hit all alike::

    python -m benchmarks.event_cost \\
        --variant before@/path/to/other/checkout --variant now \\
        --variant subset,DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=true

A variant is ``label[@checkout][,VARIABLE=value...]``: the checkout's ``fileproc_dagster`` is
the code measured (default: this one), the variables are set in the pass's environment.
``--profile DIR`` writes a pyinstrument profile of one more pass of each variant (not
counted). A variant with
``FILEPROC_BENCH_SQLITE_BATCH=1`` and ``DAGSTER_EVENT_BATCH_SIZE=50`` measures what a SQLite
event log writing batches would save (a prototype in ``_dagster_internals``, not the
product's).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from benchmarks.common import BENCH_ROOT, dir_bytes, log, median, tiny_files, tree_cpu_s

CODE_VARIABLE = "FILEPROC_BENCH_CODE"
# Set (with DAGSTER_EVENT_BATCH_SIZE) to measure a batched SQLite event log: a prototype,
# ``benchmarks._dagster_internals.batched_sqlite_event_writes``.
BATCH_VARIABLE = "FILEPROC_BENCH_SQLITE_BATCH"
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


@dataclass(frozen=True)
class Variant:
    label: str
    code: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Variant:
        head, *pairs = text.split(",")
        label, _, code = head.partition("@")
        env = dict(pair.split("=", 1) for pair in pairs)
        return cls(label, Path(code).resolve() if code else None, env)


def _events(dagster_home: Path) -> dict[str, dict[str, int]]:
    """Rows and serialized bytes of the event log by event type, shards and index apart."""
    found: dict[str, dict[str, int]] = {}
    for db in sorted((dagster_home / "history" / "runs").glob("*.db")):
        where = "index" if db.stem == "index" else "shard"
        conn = sqlite3.connect(db)
        try:
            rows = conn.execute("SELECT coalesce(dagster_event_type, 'LOG_MESSAGE'), count(*), "
                                "sum(length(event)) FROM event_logs GROUP BY 1").fetchall()
        finally:
            conn.close()
        for kind, count, size in rows:
            entry = found.setdefault(f"{where}:{kind}", {"rows": 0, "bytes": 0})
            entry["rows"] += count
            entry["bytes"] += size or 0
    return found


# Where a pass's time goes: the outermost frame of each function named, summed (seconds).
PROFILE_PARTS = {
    "run creation (planned events)": ("create_run",),
    "event-log writes": ("store_event", "store_event_batch"),
    "of which check evaluations": ("report_partition_check",),
    "of which log lines": ("info", "warning"),
    "our per-file work (records, objects, notifications)": (
        "store_file", "record_file", "describe_file", "finalize_file"),
}


def profile_parts(session: Any) -> dict[str, float]:
    """Seconds under each of ``PROFILE_PARTS`` in a pyinstrument session (outermost frames)."""
    totals = dict.fromkeys(PROFILE_PARTS, 0.0)
    root = session.root_frame()

    def walk(frame: Any, inside: frozenset[str]) -> None:
        for part, names in PROFILE_PARTS.items():
            if part not in inside and frame.function in names:
                totals[part] += frame.time
                inside = inside | {part}
        for child in frame.children:
            walk(child, inside)

    if root is not None:
        walk(root, frozenset())
    return totals



def one_pass(files: int, per_run: int, profile: Path | None) -> dict[str, Any]:
    """Process ``files`` new tiny files in runs of ``per_run`` on a fresh SQLite instance."""
    code = os.environ.get(CODE_VARIABLE)
    if code:
        sys.path.insert(0, code)
    import dagster as dg

    import fileproc_dagster.pipeline as pipeline
    from benchmarks import noop
    from fileproc_dagster.app.instance import prepare_dagster_home
    from fileproc_dagster.definitions import ASSETS, build_resources
    from fileproc_dagster.defs._dagster_compat import partition_range_tags
    from fileproc_dagster.defs.partitions import UPLOADS
    from fileproc_dagster.intake.admit import admit
    from fileproc_dagster.settings import Settings
    from fileproc_dagster.storage.records import Received, Records

    if os.environ.get(BATCH_VARIABLE):
        from benchmarks._dagster_internals import batched_sqlite_event_writes

        batched_sqlite_event_writes().__enter__()  # for the rest of this process
    pipeline.detect = noop.detect  # type: ignore[attr-defined]
    pipeline.describe = noop.describe  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory(prefix="fileproc-bench-events-") as home:
        home = os.environ.get("FILEPROC_BENCH_KEEP") or home  # a directory to inspect after
        settings = Settings.from_env({"FILEPROC_HOME": home, "DAGSTER_HOME": f"{home}/dagster"})
        settings.ensure_dirs()
        prepare_dagster_home(settings.dagster_home)
        records = Records(settings.db_url)
        resources = build_resources(settings)

        def batch(count: int, tag: str) -> list[str]:
            keys = []
            for name in tiny_files(settings.upload_dir, count, tag):
                admitted = admit(settings.upload_dir, settings.quarantine_dir, name, records)
                assert isinstance(admitted, Received), f"{name}: {admitted}"
                keys.append(admitted.key)
            instance.add_dynamic_partitions(UPLOADS, keys)
            return keys

        def process(keys: list[str]) -> None:
            for i in range(0, len(keys), per_run):
                chunk = keys[i:i + per_run]
                dg.materialize(ASSETS, instance=instance, resources=resources,
                               tags=partition_range_tags(chunk[0], chunk[-1]),
                               run_config=QUIET, raise_on_error=False)

        with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
            process(batch(2, "warm"))  # imports, first connections, the extraction worker
            keys = batch(files, "m")
            events_before, bytes_before = _events(settings.dagster_home), \
                dir_bytes(settings.dagster_home)
            profiler = None
            if profile is not None:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0005)
                profiler.start()
            me = psutil.Process()
            cpu, started = tree_cpu_s(me), time.perf_counter()
            process(keys)
            wall, cpu = time.perf_counter() - started, tree_cpu_s(me) - cpu
            if profiler is not None:
                profiler.stop()
                assert profile is not None
                profile.write_text(profiler.output_text(unicode=True, color=False,
                                                        show_all=False))
                if profiler.last_session is not None:
                    profiler.last_session.save(str(profile.with_suffix(".pyisession")))
                    parts = profile_parts(profiler.last_session)
                    profile.with_suffix(".parts.json").write_text(json.dumps(
                        {"wall_s": profiler.last_session.duration,
                         "cpu_s": profiler.last_session.cpu_time, **parts}, indent=2))
            added = dir_bytes(settings.dagster_home) - bytes_before
            events = _events(settings.dagster_home)
        done = sum(1 for r in records.files.all() if r.key in set(keys) and r.state == "done")
    for kind, before in events_before.items():
        events[kind] = {k: events[kind][k] - before[k] for k in ("rows", "bytes")}
    return {"files": files, "cpu_s": cpu, "wall_s": wall, "dagster_bytes": added,
            "events": {k: v for k, v in events.items() if v["rows"]}, "done": done}


def _run_pass(variant: Variant, files: int, per_run: int, profile: Path | None) -> dict[str, Any]:
    env = {**os.environ, **variant.env, "PYTHONPATH": str(BENCH_ROOT)}
    env.pop(CODE_VARIABLE, None)
    if variant.code is not None:
        env[CODE_VARIABLE] = str(variant.code)
    command = [sys.executable, "-m", "benchmarks.event_cost", "--one-pass",
               "--files", str(files), "--per-run", str(per_run)]
    if profile is not None:
        command += ["--profile", str(profile)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{variant.label}: pass failed\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def summarize(variant: Variant, passes: list[dict[str, Any]]) -> dict[str, Any]:
    n = passes[0]["files"]
    kinds = sorted({k for p in passes for k in p["events"]})
    return {
        "variant": variant.label, "code": str(variant.code or BENCH_ROOT), "env": variant.env,
        "repeats": len(passes), "files": n,
        "cpu_ms_per_file": median([p["cpu_s"] for p in passes]) / n * 1000,
        "cpu_ms_per_file_all": [round(p["cpu_s"] / n * 1000, 1) for p in passes],
        "wall_ms_per_file": median([p["wall_s"] for p in passes]) / n * 1000,
        "kb_per_file": median([p["dagster_bytes"] for p in passes]) / n / 1024,
        "events_per_file": {k: median([p["events"].get(k, {"rows": 0})["rows"]
                                       for p in passes]) / n for k in kinds},
        "event_bytes_per_file": {k: median([p["events"].get(k, {"bytes": 0})["bytes"]
                                            for p in passes]) / n for k in kinds},
        "all_done": all(p["done"] == n for p in passes),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.event_cost",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100, help="files per pass")
    parser.add_argument("--per-run", type=int, default=50,
                        help="files per run (FILEPROC_MAX_BATCH's default)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variant", action="append", default=[],
                        help="label[@checkout][,VARIABLE=value...]; default: this checkout")
    parser.add_argument("--profile", type=Path, default=None,
                        help="directory for a pyinstrument profile of each variant")
    parser.add_argument("--json", type=Path, default=None, help="write the summary here")
    parser.add_argument("--one-pass", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one_pass:
        print(json.dumps(one_pass(args.files, args.per_run, args.profile)))
        return 0
    variants = [Variant.parse(v) for v in args.variant] or [Variant("now")]
    passes: dict[str, list[dict[str, Any]]] = {v.label: [] for v in variants}
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    for repeat in range(args.repeats):
        turn = repeat % len(variants)
        for variant in variants[turn:] + variants[:turn]:
            result = _run_pass(variant, args.files, args.per_run, None)
            log(f"{variant.label}: {result['cpu_s'] / args.files * 1000:.1f} ms CPU, "
                f"{result['wall_s'] / args.files * 1000:.1f} ms wall, "
                f"{result['dagster_bytes'] / args.files / 1024:.1f} KB per file")
            passes[variant.label].append(result)
    if args.profile:  # one more pass each, not counted: the profiler slows what it watches
        for variant in variants:
            _run_pass(variant, args.files, args.per_run, args.profile / f"{variant.label}.txt")
    rows = [summarize(v, passes[v.label]) for v in variants]
    if args.json:
        args.json.write_text(json.dumps({"summary": rows, "passes": passes}, indent=2))
    first = rows[0]
    print(f"{args.files} tiny files, {args.per_run} per run, no-op extractors, SQLite; "
          f"median of {args.repeats}")
    print(f"{'variant':<12} {'CPU ms/file':>11} {'ratio':>6} {'wall ms/file':>12} "
          f"{'KB/file':>8} {'events/file':>11}  all done")
    for row in rows:
        events = sum(v for k, v in row["events_per_file"].items() if k.startswith("shard:"))
        print(f"{row['variant']:<12} {row['cpu_ms_per_file']:>11.1f} "
              f"{row['cpu_ms_per_file'] / first['cpu_ms_per_file']:>6.2f} "
              f"{row['wall_ms_per_file']:>12.1f} {row['kb_per_file']:>8.1f} {events:>11.1f}  "
              f"{row['all_done']}")
    for row in rows:
        print(f"{row['variant']}: " + ", ".join(
            f"{k} {v:.2f} ({row['event_bytes_per_file'][k] / max(v, 1e-9):.0f} B)"
            for k, v in row["events_per_file"].items()))
    return 0 if all(row["all_done"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
