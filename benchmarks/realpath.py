"""The real path with the real extractors: memory, latency and throughput through the daemon.

One daemon session serves all three (memory first, throughput last), each step starting
with the daemon idle. Throughput is compared with the plain-Python floor over the very same
files, run in the same invocation before the daemon starts.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import log, median, percentile
from benchmarks.corpus import LONG_AUDIO, SMALL_SCAN, BatchFile, build_batch, find, load_mix
from benchmarks.daemon import DaemonSession, done_time, warm_up
from benchmarks.floor import run_floor
from benchmarks.procs import machine_busy_cpu

MB = 2**20


@dataclass(frozen=True)
class RealPathSizes:
    """How much of each measurement to do."""

    throughput_files: int
    latency_repeats: int
    burst_files: int


def _wait(session: DaemonSession, drops: dict[str, float], per_file_s: float) -> dict[str, Any]:
    records = session.wait_ended(drops, 120 + per_file_s * len(drops))
    session.wait_idle()
    return records


def memory(session: DaemonSession, audio: BatchFile) -> dict[str, Any]:
    """Peak RSS of the run worker and the extraction worker while whisper transcribes."""
    assert session.monitor is not None
    baseline = session.monitor.cpu_by_pid()
    _wait(session, {audio.path.name: session.drop(audio.path)}, 300)
    roles = session.monitor.by_role(baseline)
    return {"file": audio.source.path.name,
            "peak_rss_mb": {role: r["peak_rss_max"] / MB for role, r in roles.items()}}


def latency(session: DaemonSession, scans: list[BatchFile], burst: list[BatchFile],
            interval_s: int) -> dict[str, Any]:
    """Drop-to-done of a small scan into an idle daemon, and of each file of a burst."""
    singles, registered = [], []
    for i, scan in enumerate(scans):
        time.sleep((i * 1.3) % interval_s)  # different phases of the sensor interval
        dropped = session.drop(scan.path)
        record = _wait(session, {scan.path.name: dropped}, 120)[scan.path.name]
        singles.append(done_time(record) - dropped)
        registered.append(done_time(record, created=True) - dropped)
        log(f"latency: single scan {singles[-1]:.1f} s (registered after {registered[-1]:.1f} s)")
    drops = session.drop_all(b.path for b in burst)
    records = _wait(session, drops, 60)
    in_burst = [done_time(records[name]) - drops[name] for name in drops]
    return {"single_file": SMALL_SCAN, "single_s": singles, "single_p50_s": median(singles),
            "single_registered_s": registered, "single_registered_p50_s": median(registered),
            "burst_files": len(burst), "burst_s": in_burst,
            "burst_p50_s": median(in_burst), "burst_p95_s": percentile(in_burst, 95),
            "burst_states": dict(Counter(r.state for r in records.values()))}


def throughput(session: DaemonSession, batch: list[BatchFile]) -> dict[str, Any]:
    """All files dropped at once; files per minute from the first drop to the last done."""
    assert session.monitor is not None
    cpu_start, baseline = session.monitor.cpu_mark(), session.monitor.cpu_by_pid()
    busy, started = machine_busy_cpu(), time.time()
    drops = session.drop_all(b.path for b in batch)
    records = _wait(session, drops, 60)
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


def run_real_path(corpus: Path, root: Path, sizes: RealPathSizes,
                  parts: set[str]) -> dict[str, Any]:
    """The selected parts of memory / latency / throughput, one daemon for all."""
    mix, stage = load_mix(corpus), root / "stage"
    results: dict[str, Any] = {}
    batch: list[BatchFile] = []
    if "throughput" in parts:
        batch = build_batch(stage / "throughput", mix, sizes.throughput_files, "t")
        kinds = Counter(b.source.group for b in batch)
        log(f"throughput: {len(batch)} files {dict(kinds)}; plain loop...")
        loop = run_floor([b.path for b in batch], workers=1)
        log(f"plain loop {loop.files_per_min:.1f} files/min; 2-process pool...")
        pool = run_floor([b.path for b in batch], workers=2)
        log(f"2-process pool {pool.files_per_min:.1f} files/min")
        results["throughput"] = {"mix": dict(kinds), "loop": loop.as_json(),
                                 "pool_before": pool.as_json()}
    # Every file is made before the daemon starts: no other child process may run while
    # the tree monitor counts CPU (it reaps whatever is re-parented to this process).
    warm = build_batch(stage / "warm", [find(corpus, "garden_committee_notes.txt")], 1, "w")
    audio = build_batch(stage / "memory", [find(corpus, LONG_AUDIO)], 1, "m")
    scans = build_batch(stage / "latency", [find(corpus, SMALL_SCAN)], sizes.latency_repeats, "l")
    burst = build_batch(stage / "burst", mix[::-1], sizes.burst_files, "b")
    session = DaemonSession(root / "daemon").start()
    interval_s = int(session.env["FILEPROC_SENSOR_INTERVAL_S"])
    try:
        results["warm_up_s"] = warm_up(session, warm[0].path)
        if "memory" in parts:
            results["memory"] = memory(session, audio[0])
            log(f"memory: {results['memory']['peak_rss_mb']}")
        if "latency" in parts:
            results["latency"] = latency(session, scans, burst, interval_s)
        if "throughput" in parts:
            results["throughput"]["ours"] = throughput(session, batch)
    finally:
        session.stop()
    if "throughput" in parts:
        _compare(results["throughput"], batch)
    results["sensor_interval_s"] = interval_s
    return results


def _compare(figures: dict[str, Any], batch: list[BatchFile]) -> None:
    """The 2-process floor once more (after the daemon, for drift), then the ratios."""
    after = run_floor([b.path for b in batch], workers=2)
    figures["pool_after"] = after.as_json()
    runs = [figures["pool_before"], figures["pool_after"]]
    figures["pool"] = {key: median([r[key] for r in runs])
                       for key in ("files_per_min", "wall_s", "cpu_s", "other_cores")}
    figures["pool"].update(workers=2, files=len(batch), failed=max(r["failed"] for r in runs))
    ours = figures["ours"]
    ours["ratio_to_pool"] = ours["files_per_min"] / figures["pool"]["files_per_min"]
    ours["ratio_to_loop"] = ours["files_per_min"] / figures["loop"]["files_per_min"]
    log(f"throughput: ours {ours['files_per_min']:.1f} files/min, 2-process floor "
        f"{figures['pool']['files_per_min']:.1f} (median of 2): {ours['ratio_to_pool']:.2f}x")

