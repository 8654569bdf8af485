"""The plain-Python floor: the pipeline's own extractors over the same files, no Dagster.

``run_floor`` starts ``python -m benchmarks.floor`` as a child process, so its CPU (and that
of its pool workers and of tesseract/ffmpeg) is read exactly from ``RUSAGE_CHILDREN``; wall
time includes starting the interpreter and loading the models, as the real path's does.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import python_path
from benchmarks.procs import machine_busy_cpu, reaped_children_cpu


@dataclass(frozen=True)
class FloorResult:
    """One floor run over a list of files."""

    workers: int
    files: int
    failed: int
    wall_s: float
    cpu_s: float
    other_cores: float  # average CPU other processes of the machine used meanwhile

    @property
    def files_per_min(self) -> float:
        return self.files / self.wall_s * 60

    def as_json(self) -> dict[str, float]:
        return {"workers": self.workers, "files": self.files, "failed": self.failed,
                "wall_s": self.wall_s, "cpu_s": self.cpu_s, "files_per_min": self.files_per_min,
                "other_cores": self.other_cores}


def _real(path: str) -> str | None:
    from fileproc_dagster.describe import describe
    from fileproc_dagster.describe.detect import detect
    from fileproc_dagster.describe.model import ExtractOptions

    options = ExtractOptions()
    try:
        describe(Path(path), detect(Path(path), options), options)
    except Exception as exc:  # noqa: BLE001 - counted and reported, the floor keeps going
        return f"{Path(path).name}: {exc}"
    return None


def _noop(path: str) -> str | None:
    from benchmarks import noop

    options = None
    noop.describe(Path(path), noop.detect(Path(path), options), options)
    return None


def _process(files: Sequence[str], workers: int, extract: Callable[[str], str | None]) -> list[str]:
    if workers == 1:
        return [e for e in map(extract, files) if e]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return [e for e in pool.map(extract, files, chunksize=1) if e]


def run_floor(files: Sequence[Path], workers: int, noop: bool = False,
              timeout_s: float = 3600) -> FloorResult:
    """Process ``files`` with a plain loop (``workers=1``) or a spawn process pool."""
    command = [sys.executable, "-m", "benchmarks.floor", "--workers", str(workers)]
    if noop:
        command.append("--noop")
    before, busy = reaped_children_cpu(), machine_busy_cpu()
    started = time.perf_counter()
    out = subprocess.run(command, input="\n".join(str(f) for f in files), text=True,
                         capture_output=True, timeout=timeout_s,
                         env={**os.environ, "PYTHONPATH": python_path()})
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"floor failed: {out.stderr[-2000:]}")
    errors = json.loads(out.stdout.strip().splitlines()[-1])["errors"]
    for error in errors[:5]:
        print(f"  floor error: {error}", file=sys.stderr)
    cpu = reaped_children_cpu() - before
    others = (machine_busy_cpu() - busy - cpu) / wall
    return FloorResult(workers, len(files), len(errors), wall, cpu, max(others, 0.0))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Extract files listed on stdin, no Dagster.")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--noop", action="store_true", help="the benchmarks' no-op extractors")
    args = parser.parse_args(argv)
    files = [line for line in sys.stdin.read().splitlines() if line]
    errors = _process(files, args.workers, _noop if args.noop else _real)
    print(json.dumps({"errors": errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
