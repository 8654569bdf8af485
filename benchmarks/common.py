"""Shared helpers: paths, the environment of the code under test, readers run in turn, statistics,
sizes."""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psutil

# The directory holding the ``benchmarks`` package; the daemon, its code servers and every
# worker they spawn must be able to import ``benchmarks.*`` (no-op extractors are pickled by
# reference), so it goes on their PYTHONPATH.
BENCH_ROOT = Path(__file__).resolve().parents[1]
TERMINAL = ("done", "failed", "quarantined")


def log(message: str) -> None:
    """Progress output of the benchmark script (stderr, timestamped)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def default_corpus() -> Path:
    """``$FILEPROC_CORPUS`` or ``../shared/corpus`` next to the repository."""
    return Path(os.environ.get("FILEPROC_CORPUS") or BENCH_ROOT.parent / "shared" / "corpus")


def bin_path(name: str) -> str:
    """A console script of the running interpreter's environment (dagster-daemon, fileproc)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def python_path(extra: Sequence[Path] = ()) -> str:
    """PYTHONPATH for child processes: the caller's entries first (so a checkout put there is
    the code measured), then the benchmarks' root."""
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    for path in (*extra, BENCH_ROOT):
        if str(path) not in parts:
            parts.append(str(path))
    return os.pathsep.join(parts)


def process_cpu_s() -> float:
    """CPU seconds of this process and of the children it waited for (tesseract, ffmpeg)."""
    own, waited = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                   resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + waited.ru_utime + waited.ru_stime


def timed_read(read: Callable[[], Any]) -> tuple[Any, str | None, float]:
    """``read()``'s result (None when it raised), its error in one line, and its CPU seconds:
    a reader's failure is a figure, not the end of the benchmark."""
    started = process_cpu_s()
    try:
        result = read()
    except Exception as exc:  # noqa: BLE001 - any reader's failure is reported, not raised
        first_line = (str(exc).splitlines() or [""])[0][:160]
        return None, f"{type(exc).__name__}: {first_line}", process_cpu_s() - started
    return result, None, process_cpu_s() - started


def readers_in_turn(benchmark: str, readers: Sequence[str], repeats: int, root: Path,
                    names: Sequence[str], extra_path: Sequence[Path] = ()
                    ) -> dict[str, list[dict[str, Any]]]:
    """Each reader's runs over ``names``, ``repeats`` times, readers taking turns.

    A run is a child process, ``python -m benchmarks.<benchmark> --worker READER --root ROOT
    NAMES...``, which prints its figures as JSON on its last line. kreuzberg writes OCR results
    under ~/.cache even with its cache off: a temporary directory takes them instead.
    """
    runs: dict[str, list[dict[str, Any]]] = {r: [] for r in readers}
    cache = Path(tempfile.mkdtemp(prefix=f"{benchmark}-bench-"))
    env = {**os.environ, "PYTHONPATH": python_path(extra_path), "KREUZBERG_CACHE_DIR": str(cache)}
    try:
        for repeat in range(repeats):
            for reader in readers:
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-m", f"benchmarks.{benchmark}", "--worker", reader,
                     "--root", str(root), *names],
                    env=env, capture_output=True, text=True, timeout=3600, check=False)
                if done.returncode != 0:
                    raise RuntimeError(f"{reader} worker failed: {done.stderr[-1500:]}")
                runs[reader].append(json.loads(done.stdout.strip().splitlines()[-1]))
                log(f"{benchmark}: {reader}, run {repeat + 1}/{repeats}: "
                    f"{time.perf_counter() - started:.1f} s")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return runs


def fileproc_env(home: Path, dagster_home: Path, interval_s: int = 3,
                 db_url: str | None = None, **extra: str) -> dict[str, str]:
    """Environment of one embedded-default installation under ``home`` (docs/configuration.md).

    DAGSTER_HOME lives outside FILEPROC_HOME so its size is Dagster's storage alone.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FILEPROC_") and k != "DAGSTER_HOME"}
    env.update({
        "FILEPROC_HOME": str(home),
        "FILEPROC_UPLOAD_DIR": str(home / "uploads"),
        "FILEPROC_DB_URL": db_url or f"sqlite:///{home / 'records.db'}",
        "FILEPROC_SENSOR_INTERVAL_S": str(interval_s),
        "DAGSTER_HOME": str(dagster_home),
        "PYTHONPATH": python_path(),
        "PYTHONUNBUFFERED": "1",
        **extra,
    })
    return env


def stop_group(process: subprocess.Popen[bytes], grace_s: float, kill_wait_s: float) -> None:
    """SIGTERM a process started in its own session (and its group); SIGKILL the group if it
    is still there after ``grace_s``."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(kill_wait_s)


def fileproc_init(env: Mapping[str, str], dagster_pg: str | None = None) -> None:
    """``fileproc init``: directories and the packaged dagster.yaml in DAGSTER_HOME; with
    ``dagster_pg``, Dagster's storage (runs, events, schedules) moved to that database."""
    subprocess.run([bin_path("fileproc"), "init"], env=dict(env), check=True,
                   stdout=subprocess.DEVNULL, timeout=120)
    if dagster_pg:
        import yaml

        config_path = Path(env["DAGSTER_HOME"]) / "dagster.yaml"
        config = yaml.safe_load(config_path.read_text())
        config["storage"] = {"postgres": {"postgres_url": dagster_pg}}
        config_path.write_text(yaml.safe_dump(config))


def code_under_test() -> dict[str, str]:
    """Where ``fileproc_dagster`` is imported from in child processes, and its git revision."""
    out = subprocess.run(
        [sys.executable, "-c", "import fileproc_dagster as package, os; "
         "print(os.path.dirname(os.path.dirname(package.__file__)))"],
        env={**os.environ, "PYTHONPATH": python_path()}, capture_output=True, text=True,
        check=True, timeout=60).stdout.strip()
    info = {"path": out, "git": "unknown (not a git checkout)"}
    git = subprocess.run(["git", "-C", out, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True)
    if git.returncode == 0 and Path(out, ".git").exists():
        dirty = subprocess.run(
            ["git", "-C", out, "status", "--porcelain", "--", "fileproc_dagster"],
            capture_output=True, text=True).stdout.strip()
        info["git"] = git.stdout.strip() + (" + uncommitted changes" if dirty else "")
    return info


def tree_cpu_s(process: psutil.Process) -> float:
    """CPU seconds of a process, its reaped children and its live descendants."""
    times = process.cpu_times()
    total: float = times.user + times.system + times.children_user + times.children_system
    for child in process.children(recursive=True):
        try:
            child_times = child.cpu_times()
        except psutil.Error:
            continue
        total += child_times.user + child_times.system
    return total


def dir_bytes(path: Path) -> int:
    """Apparent size of every file under ``path``."""
    total = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            with suppress(FileNotFoundError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def dir_breakdown(path: Path) -> dict[str, int]:
    """Bytes per top-level entry of ``path`` (``history`` split one level further: the run
    database, the per-run event-log shards, the cross-run index)."""
    parts: dict[str, int] = {}
    for root, _dirs, names in os.walk(path):
        rel = Path(root).relative_to(path).parts
        for name in names:
            where = (*rel, name)
            key = "/".join(where[:2] if where[0] == "history" and len(where) > 1 else where[:1])
            with suppress(FileNotFoundError):
                parts[key] = parts.get(key, 0) + os.lstat(os.path.join(root, name)).st_size
    return parts


def tiny_files(upload_dir: Path, count: int, tag: str) -> list[str]:
    """Write ``count`` small, distinct text files into ``upload_dir``; their names."""
    upload_dir.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(count):
        name = f"note_{tag}_{i:05d}.txt"
        (upload_dir / name).write_text(f"Note {tag} {i}: the meeting moved to room {i}.\n")
        names.append(name)
    return names


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


@contextmanager
def workdir(parent: Path | None, keep: bool, name: str) -> Iterator[Path]:
    """A fresh temporary directory, removed afterwards unless ``keep``."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix=f"fileproc-bench-{name}-", dir=parent))
    try:
        yield path
    finally:
        if keep:
            log(f"kept {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)
