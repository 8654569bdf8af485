"""The real path with the real extractors: memory, latency, cold burst and throughput.

One daemon session serves them all (memory first, throughput last), each step starting with
the daemon idle. The cold burst and throughput take turns with the plain-Python floor over
the same files, in the same invocation (``benchmarks.batches``).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.batches import MB, alternate, wait_all
from benchmarks.common import log, median, percentile
from benchmarks.corpus import (
    LONG_AUDIO,
    SMALL_SCAN,
    BatchFile,
    CorpusFile,
    build_batch,
    find,
    load_mix,
)
from benchmarks.daemon import DaemonSession, done_time, warm_up
from benchmarks.floor import run_floor


@dataclass(frozen=True)
class RealPathSizes:
    """How much of each measurement to do."""

    throughput_files: int
    latency_repeats: int
    burst_files: int  # the latency benchmark's burst (drop to done of each file)
    cold_burst_files: int
    repeats: int  # of the cold burst and of throughput, each between two floor runs


def _batches(stage: Path, mix: list[CorpusFile], files: int, tag: str,
             repeats: int) -> list[list[BatchFile]]:
    """One batch of unique copies per repeat, of the same corpus files."""
    return [build_batch(stage / str(i), mix, files, f"{tag}{i}") for i in range(repeats)]


def memory(session: DaemonSession, audio: BatchFile) -> dict[str, Any]:
    """Peak RSS of the run worker and the extraction worker while whisper transcribes."""
    assert session.monitor is not None
    baseline = session.monitor.cpu_by_pid()
    wait_all(session, {audio.path.name: session.drop(audio.path)}, 300)
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
        record = wait_all(session, {scan.path.name: dropped}, 120)[scan.path.name]
        singles.append(done_time(record) - dropped)
        registered.append(done_time(record, created=True) - dropped)
        log(f"latency: single scan {singles[-1]:.1f} s (registered after {registered[-1]:.1f} s)")
    drops = session.drop_all(b.path for b in burst)
    records = wait_all(session, drops, 60)
    in_burst = [done_time(records[name]) - drops[name] for name in drops]
    return {"single_file": SMALL_SCAN, "single_s": singles, "single_p50_s": median(singles),
            "single_registered_s": registered, "single_registered_p50_s": median(registered),
            "burst_files": len(burst), "burst_s": in_burst,
            "burst_p50_s": median(in_burst), "burst_p95_s": percentile(in_burst, 95),
            "burst_states": dict(Counter(r.state for r in records.values()))}


def run_real_path(corpus: Path, root: Path, sizes: RealPathSizes,
                  parts: set[str]) -> dict[str, Any]:
    """The selected parts of memory / latency / burst / throughput, one daemon for all."""
    mix, stage = load_mix(corpus), root / "stage"
    results: dict[str, Any] = {}
    # Every file is made before the daemon starts: no other child process may run while the
    # tree monitor samples (it reaps whatever is re-parented to this process); the floor runs
    # while it is paused.
    warm = build_batch(stage / "warm", [find(corpus, "garden_committee_notes.txt")], 1, "w")
    audio = build_batch(stage / "memory", [find(corpus, LONG_AUDIO)], 1, "m")
    scans = build_batch(stage / "latency", [find(corpus, SMALL_SCAN)], sizes.latency_repeats, "l")
    burst = build_batch(stage / "burst", mix[::-1], sizes.burst_files, "b")
    cold = (_batches(stage / "cold-burst", mix, sizes.cold_burst_files, "c", sizes.repeats)
            if "burst" in parts else [])
    batches = (_batches(stage / "throughput", mix, sizes.throughput_files, "t", sizes.repeats)
               if "throughput" in parts else [])
    loop = None
    if batches:  # a reference only: once, before the daemon starts
        log(f"throughput: {sizes.repeats} x {len(batches[0])} files; plain loop...")
        loop = run_floor([b.path for b in batches[0]], workers=1)
        log(f"plain loop {loop.files_per_min:.1f} files/min")
    session = DaemonSession(root / "daemon").start()
    interval_s = int(session.env["FILEPROC_SENSOR_INTERVAL_S"])
    try:
        results["warm_up_s"] = warm_up(session, warm[0].path)
        if "memory" in parts:
            results["memory"] = memory(session, audio[0])
            log(f"memory: {results['memory']['peak_rss_mb']}")
        if "latency" in parts:
            results["latency"] = latency(session, scans, burst, interval_s)
        if cold:
            results["burst"] = alternate(session, cold, "cold burst")
        if batches:
            results["throughput"] = alternate(session, batches, "throughput")
    finally:
        session.stop()
    if loop is not None:
        results["throughput"]["loop"] = loop.as_json()
    results["sensor_interval_s"] = interval_s
    return results
