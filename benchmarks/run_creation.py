"""Run creation: where a daemon sensor tick spends its time when it creates ranged runs.

``python -m benchmarks.run_creation`` (``--sizes 5000,100000``, ``--repeats 3``,
``--profile DIR``, ``--json PATH``, ``--tmp DIR``, ``--keep``) installs the embedded default
(SQLite) in a work directory and, for each size in turn, seeds that many ``uploads``
partitions (keys only: making a run reads no records or materializations), then runs ticks
of the daemon's sensor loop (``benchmarks.daemon_tick``), each with 10 new settled files: two
ranged runs of 5. Two variants take turns, in rotated order:

- ``shipped``: Dagster as installed;
- ``listing-once``: each ``create_run`` reads the partition keys once for all its assets and
  checks (a prototype, ``benchmarks._dagster_internals.one_key_listing_per_run``).

Per tick: the tick, the sensor's evaluation in the code server, and per run created the
daemon's calls that make it (counted and timed in this process): ``create_run``, the key
listings (``get_dynamic_partitions``) and key checks (``has_dynamic_partition``) within it,
the event writes (``report_dagster_event``: the planned events, then the enqueue) and
``submit_run``. Medians over the repeats. ``--profile DIR`` writes a pyinstrument profile of
one more tick per variant and size (not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from benchmarks.common import fileproc_env, fileproc_init, log, median, workdir

MODULE = "fileproc_dagster.definitions"
ARRIVALS = 10
VARIANTS = ("shipped", "listing-once")
SHOWN = (("create_run", "create_run"), ("get_dynamic_partitions", "listings"),
         ("has_dynamic_partition", "key checks"), ("report_dagster_event", "event writes"),
         ("submit_run", "submit_run"))


def _variant(name: str) -> AbstractContextManager[None]:
    from benchmarks._dagster_internals import one_key_listing_per_run

    return one_key_listing_per_run() if name == "listing-once" else nullcontext()


@contextmanager
def _profiled(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(profiler.output_text(show_all=True, color=False))


class Ticks:
    """The daemon's sensor loop over a fresh installation, with files arriving on demand."""

    def __init__(self, root: Path) -> None:
        env = fileproc_env(root / "home", root / "dagster_home", interval_s=1)
        os.environ.clear()
        os.environ.update(env)
        fileproc_init(env)

        import dagster as dg

        from benchmarks.daemon_tick import SensorLoop
        from fileproc_dagster.settings import Settings

        self.instance = dg.DagsterInstance.get()
        self.upload_dir = Path(env["FILEPROC_UPLOAD_DIR"])
        self.db_url = env["FILEPROC_DB_URL"]
        self.settle_s = Settings.from_env().settle_s
        self.loop = SensorLoop(self.instance, MODULE)
        self.arrivals = 0

    def seed(self, start: int, stop: int) -> None:
        from benchmarks.seed import seed_partitions, synthetic_keys

        seed_partitions(self.instance, synthetic_keys(start, stop))

    def tick(self, variant: str, profile: Path | None = None) -> dict[str, Any]:
        """One tick creating the runs for new files, under ``variant``; then back to idle."""
        from benchmarks._dagster_internals import instance_call_stats
        from benchmarks.scale import _settle

        self.arrivals += 1
        for i in range(ARRIVALS):
            (self.upload_dir / f"arrival {self.arrivals} {i}.txt").write_text(
                f"New upload {self.arrivals} number {i}.\n")
        time.sleep(self.settle_s + 0.2)
        calls: Counter[str] = Counter()
        seconds: dict[str, float] = {}
        with instance_call_stats(calls, seconds), _variant(variant), _profiled(profile):
            tick = self.loop.tick()
        _settle(self.upload_dir, self.db_url)
        time.sleep(1.2)
        self.loop.tick()  # idle: the next measured tick starts from the same state
        runs = int(tick["runs"])
        if runs == 0:
            raise RuntimeError(f"the tick created no run for {ARRIVALS} new files")
        out = {"tick_s": tick["total_s"], "evaluation_s": tick["evaluation_s"], "runs": runs,
               "per_run_s": (tick["total_s"] - tick["evaluation_s"]) / runs}
        for name, _ in SHOWN:
            out[f"{name}_calls"] = calls[name] / runs
            out[f"{name}_s"] = seconds.get(name, 0.0) / runs
        return out

    def close(self) -> None:
        self.loop.close()
        self.instance.dispose()


def measure(root: Path, sizes: Sequence[int], repeats: int,
            profile_dir: Path | None) -> dict[str, Any]:
    """Every size, cumulatively seeded; the variants taking turns at each."""
    ticks = Ticks(root)
    results: dict[str, Any] = {}
    try:
        seeded = 0
        for size in sizes:
            ticks.seed(seeded, size)
            seeded = size
            samples: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
            for repeat in range(repeats):
                order = VARIANTS[repeat % 2:] + VARIANTS[:repeat % 2]
                for variant in order:
                    samples[variant].append(ticks.tick(variant))
                    log(f"run_creation: {size} {variant} tick "
                        f"{samples[variant][-1]['tick_s']:.2f} s")
            if profile_dir is not None:
                for variant in VARIANTS:
                    ticks.tick(variant, profile_dir / f"run-creation-{size}-{variant}.txt")
            results[str(size)] = {v: {k: median([s[k] for s in runs]) for k in runs[0]}
                                  for v, runs in samples.items()}
    finally:
        ticks.close()
    return results


def summary(results: dict[str, Any]) -> str:
    """A table per size: medians per tick and per run created, and the variants' ratio."""
    lines = ["| partitions | variant | tick | per run created | "
             + " | ".join(f"{label} per run" for _, label in SHOWN) + " |",
             "|---" * (4 + len(SHOWN)) + "|"]
    for size, variants in results.items():
        for variant, m in variants.items():
            parts = [f"{m[f'{name}_calls']:.0f} / {m[f'{name}_s']:.3f} s" for name, _ in SHOWN]
            lines.append(f"| {int(size):,} | {variant} | {m['tick_s']:.2f} s | "
                         f"{m['per_run_s']:.3f} s | " + " | ".join(parts) + " |")
        ratio = variants["listing-once"]["tick_s"] / variants["shipped"]["tick_s"]
        lines.append(f"| {int(size):,} | ratio listing-once / shipped | {ratio:.2f} |"
                     + " |" * (2 + len(SHOWN)))
    return "\n".join(lines) + "\n(calls / seconds per run created, medians)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Where a tick's run creation time goes.")
    parser.add_argument("--sizes", default="5000,100000", help="partitions, ascending")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", type=Path, default=None,
                        help="directory for a pyinstrument profile per variant and size")
    parser.add_argument("--json", type=Path, default=None, help="write the medians here")
    parser.add_argument("--tmp", type=Path, default=None, help="parent of the work directory")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    with workdir(args.tmp, args.keep, "run-creation") as root:
        results = measure(root, sizes, args.repeats, args.profile)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    print(summary(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
