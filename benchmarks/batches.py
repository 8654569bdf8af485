"""A batch of real files dropped at once on an idle daemon, against the 2-process floor.

Throughput and the cold burst are both this measurement. ``alternate`` takes turns: the floor,
the daemon on the first batch, the floor, the daemon on the next batch, ..., the floor
(``pool, ours, pool, ours, pool``). Each repeat drops unique copies of the same corpus files
(identical bytes would be deduplicated), and its floor is the median of the two pool runs
around it, over its own files (before) and the next repeat's copies of the same sources
(after; the last repeat's own files). Each repeat keeps its ratios; the spread is their
median, minimum and maximum.

Ratio = floor wall / ours wall on the same number of files (= ours files per minute / the
floor's); by CPU = floor CPU / ours CPU. The daemon stays up and idle while the floor runs
(its sensor keeps looking; its CPU is in the floor's "other load").
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from benchmarks.common import log, median
from benchmarks.corpus import BatchFile
from benchmarks.daemon import DaemonSession, done_time
from benchmarks.floor import run_floor
from benchmarks.procs import machine_busy_cpu

MB = 2**20
FLOOR_KEYS = ("files_per_min", "wall_s", "cpu_s", "other_cores")


def wait_all(session: DaemonSession, drops: dict[str, float],
             per_file_s: float) -> dict[str, Any]:
    """The records of the dropped files once all have ended, and the daemon idle again."""
    records = session.wait_ended(drops, 120 + per_file_s * len(drops))
    session.wait_idle()
    return records


def drop_batch(session: DaemonSession, batch: Sequence[BatchFile],
               per_file_s: float = 60) -> dict[str, Any]:
    """All files dropped at once; from the first drop to the last done, with the CPU of the
    daemon's whole tree and, sampled, by process role."""
    assert session.monitor is not None
    cpu_start, baseline = session.monitor.cpu_mark(), session.monitor.cpu_by_pid()
    busy, started = machine_busy_cpu(), time.time()
    drops = session.drop_all(b.path for b in batch)
    records = wait_all(session, drops, per_file_s)
    cpu = session.monitor.cpu_mark() - cpu_start
    others = (machine_busy_cpu() - busy - cpu) / (time.time() - started)
    wall = max(done_time(r) for r in records.values()) - started
    roles = session.monitor.by_role(baseline)
    return {"files": len(batch), "wall_s": wall, "cpu_s": cpu, "other_cores": max(others, 0.0),
            "files_per_min": len(batch) / wall * 60,
            "states": dict(Counter(r.state for r in records.values())),
            "not_done": sorted(n for n, r in records.items() if r.state != "done")[:10],
            "by_role": {role: {"processes": r["processes"], "cpu_s": r["cpu_s"],
                               "peak_rss_mb": r["peak_rss_max"] / MB}
                        for role, r in roles.items()}}


def floor_pool(session: DaemonSession, batch: Sequence[BatchFile]) -> dict[str, Any]:
    """The 2-process floor over ``batch``, beside the idle daemon (not counted in its tree)."""
    assert session.monitor is not None
    with session.monitor.paused():
        return run_floor([b.path for b in batch], workers=2).as_json()


def spread(values: Sequence[float]) -> dict[str, Any]:
    """Median, minimum and maximum of the repeats' figures, and the figures themselves."""
    return {"median": median(values), "min": min(values), "max": max(values),
            "runs": list(values)}


def alternate(session: DaemonSession, batches: Sequence[Sequence[BatchFile]],
              name: str) -> dict[str, Any]:
    """``pool, ours, pool, ...``: each batch through the daemon, between two floor runs."""
    pools = [floor_pool(session, batches[0])]
    repeats = []
    for i, batch in enumerate(batches):
        ours = drop_batch(session, batch)
        pools.append(floor_pool(session, batches[min(i + 1, len(batches) - 1)]))
        floor: dict[str, Any] = {key: median([p[key] for p in pools[-2:]]) for key in FLOOR_KEYS}
        floor["failed"] = max(p["failed"] for p in pools[-2:])
        ours.update(floor=floor, ratio=floor["wall_s"] / ours["wall_s"],
                    cpu_ratio=floor["cpu_s"] / ours["cpu_s"])
        log(f"{name} {i + 1}/{len(batches)}: ours {ours['wall_s']:.1f} s, 2-process floor "
            f"{floor['wall_s']:.1f} s: {ours['ratio']:.2f}x (by CPU {ours['cpu_ratio']:.2f}x)")
        repeats.append(ours)
    return {"files": len(batches[0]),
            "mix": dict(Counter(b.source.group for b in batches[0])),
            "pools": pools, "repeats": repeats,
            "ratio": spread([r["ratio"] for r in repeats]),
            "cpu_ratio": spread([r["cpu_ratio"] for r in repeats])}
