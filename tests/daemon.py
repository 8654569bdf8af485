"""Driving the real ``dagster-daemon`` from tests: start, SIGKILL, restart, wait, and count
what a file left behind (objects, records, notifications, uploads)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import pytest

from fileproc_dagster.app.instance import prepare_dagster_home
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Record, Records

T = TypeVar("T")
FINISHED = ("done", "quarantined", "failed")
TESTS = Path(__file__).resolve().parent
PRODUCT = "fileproc_dagster.definitions"
# The product's definitions with fault hooks armed from FILEPROC_FAULTS (tests/support).
FAULTY = "support.faulty_location"


def venv_bin(name: str) -> str:
    """An executable of the interpreter running the tests (the project's venv)."""
    return str(Path(sys.executable).parent / name)


def with_tests_on_path(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with ``tests/`` first on PYTHONPATH: processes started with it (and the
    extraction workers they spawn) can import ``support``."""
    paths = [str(TESTS), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    return {**env, "PYTHONPATH": os.pathsep.join(paths)}


class Daemon:
    """``dagster-daemon run`` on the settings' DAGSTER_HOME, in its own process group, loading
    ``location`` (a module: the product's, or ``FAULTY`` for faults armed through ``env``).

    ``dagster_yaml`` is the instance config put there (the embedded default's when None);
    ``env`` is added to the daemon's environment.
    """

    def __init__(self, settings: Settings, env: dict[str, str] | None = None,
                 location: str = PRODUCT, dagster_yaml: Path | None = None) -> None:
        self.settings = settings
        self.location = location
        self.log = settings.home / "daemon.log"
        self.env = {**os.environ, "DAGSTER_HOME": str(settings.dagster_home),
                    "FILEPROC_HOME": str(settings.home), "FILEPROC_SENSOR_INTERVAL_S": "1",
                    **(env or {})}
        if location != PRODUCT:
            self.env = with_tests_on_path(self.env)
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        if dagster_yaml is not None:
            settings.dagster_home.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(dagster_yaml, settings.dagster_home / "dagster.yaml")
        prepare_dagster_home(settings.dagster_home)
        if dagster_yaml is None:
            # Dagster makes a new SQLite instance's storages on first use: made here once, so
            # the daemon and a test reading the instance never make (and stamp) them at once.
            with self.instance():
                pass

    def start(self) -> None:
        with open(self.log, "ab") as log:
            log.write(f"\n==== daemon start {self.starts + 1} ====\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [venv_bin("dagster-daemon"), "run", "-m", self.location],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.starts += 1

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _signal_group(self, sig: int) -> None:
        assert self.process is not None
        with suppress(ProcessLookupError):  # the whole group may be gone already
            os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        """SIGKILL the daemon and everything it started (code server, run workers)."""
        self._signal_group(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(30)

    def stop(self) -> None:
        if self.process is None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.process.wait(30)
        self._signal_group(signal.SIGKILL)  # run workers the daemon left behind

    def tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def wait_for(self, what: str, check: Callable[[], T | None], timeout_s: float,
                 every_s: float = 0.5) -> T:
        """Poll ``check`` until it returns a truthy value; fail with the log tail otherwise."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(every_s)
        pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}\n"
                    f"--- daemon log tail ---\n{self.tail()}")

    @contextmanager
    def instance(self) -> Iterator[dg.DagsterInstance]:
        """The daemon's Dagster instance, opened from this process (reads only)."""
        with dg.DagsterInstance.from_config(str(self.settings.dagster_home)) as instance:
            yield instance


@contextmanager
def running(settings: Settings, env: dict[str, str] | None = None,
            location: str = PRODUCT, dagster_yaml: Path | None = None) -> Iterator[Daemon]:
    """A started daemon, stopped (with its children) whatever happens."""
    daemon = Daemon(settings, env, location, dagster_yaml)
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()


def finished(records: Records, count: int) -> list[Record] | None:
    """All records once ``count`` of them ended (done, quarantined or failed)."""
    every = records.files.all()
    return every if sum(r.state in FINISHED for r in every) >= count else None


def outbox(settings: Settings) -> list[dict[str, Any]]:
    if not settings.outbox.exists():
        return []
    return [json.loads(x) for x in settings.outbox.read_text().splitlines() if x.strip()]


RUN_FAILED = "run-failed:"


def notifications(settings: Settings) -> Counter[tuple[str, str]]:
    """Outbox lines about files, per (partition key, event); a failed run's notice is apart
    (``run_notices``)."""
    return Counter((n["key"], n["event"]) for n in outbox(settings)
                   if not n["event"].startswith(RUN_FAILED))


def run_notices(settings: Settings) -> Counter[str]:
    """Outbox lines of the run-failure notifier, per failed run id."""
    return Counter(n["event"].removeprefix(RUN_FAILED) for n in outbox(settings)
                   if n["event"].startswith(RUN_FAILED))


def objects(settings: Settings) -> Counter[str]:
    """Stored objects per sha256 (content-addressed: at most one each)."""
    root = settings.store_dir / "objects"
    return Counter(p.name for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def leftovers(settings: Settings) -> list[str]:
    """Files still in the upload directory."""
    return sorted(os.listdir(settings.upload_dir))


def states(records: Records) -> Counter[str]:
    return Counter(r.state for r in records.files.all())


def descendants(pid: int) -> list[int]:
    """Child processes of ``pid``, recursively (Linux /proc)."""
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        with suppress(OSError):
            for child in (int(p) for p in children.read_text().split()):
                found += [child, *descendants(child)]
    return found


def commands(pids: list[int]) -> dict[int, str]:
    """The command lines of processes (for messages)."""
    found = {}
    for pid in pids:
        with suppress(OSError):
            found[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return found


def running_pids(pids: list[int]) -> list[int]:
    """Those of ``pids`` still running (zombies count as gone)."""
    from fileproc_dagster.recovery import process_alive

    return [pid for pid in pids if process_alive(pid, time.time())]


# -- small distinct files -------------------------------------------------------------------

def make_text(path: Path, i: int) -> Path:
    """A tiny text document, distinct for each ``i``."""
    path.write_text(f"Minutes of meeting {i}.\nItem {i}: a budget of {i * 37} pounds was "
                    "approved and the next meeting was set for Thursday.\n")
    return path


def make_png(path: Path, i: int) -> Path:
    """A tiny picture (too small for a page check), distinct for each ``i``."""
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (64, 48), (40 + i % 200, 90, 160))
    ImageDraw.Draw(picture).ellipse((8, 8, 40, 40), fill=(230, 200, 40))
    picture.putpixel((0, 0), (i % 256, i // 256 % 256, 7))
    picture.save(path)
    return path


def make_speech(path: Path, i: int) -> Path:
    """A short spoken message (espeak-ng), distinct for each ``i``."""
    from support.samples import make_speech as speak

    return speak(path, f"Message {i}. The parcel for room {i} arrives on Tuesday morning.")


def drop(settings: Settings, source: Path, name: str | None = None) -> Path:
    """Put a finished file into the upload directory at once (written hidden, renamed)."""
    target = settings.upload_dir / (name or source.name)
    temporary = settings.upload_dir / f".{target.name}.part"
    shutil.copyfile(source, temporary)
    os.replace(temporary, target)
    return target


# -- what Dagster recorded ------------------------------------------------------------------

def run_partitions(instance: dg.DagsterInstance) -> dict[str, list[str]]:
    """Partition keys of every run of process_file, by run id."""
    from fileproc_dagster.defs.reconcile import run_partitions as covers

    keys = instance.get_dynamic_partitions("uploads")
    order = {key: i for i, key in enumerate(keys)}
    return {run.run_id: covers(run, order, keys)
            for run in instance.get_runs(dg.RunsFilter(job_name="process_file"))}


def live_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """Runs queued, starting or started: what a finished test must not leave behind."""
    from fileproc_dagster.defs.reconcile import LIVE

    return list(instance.get_runs(dg.RunsFilter(statuses=LIVE)))
