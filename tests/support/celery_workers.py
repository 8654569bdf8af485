"""Redis and Celery workers for the production tests, on loopback.

Redis is the one at ``FILEPROC_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/11``: a
database number of its own, emptied before and after each test); a server that is down is
started (``redis-server --daemonize yes``, nothing kept on disk). Workers are started as the
docs/celery.md says, ``dagster-celery worker start -A dagster_celery.app -y CONFIG -q ...``, each in
its own process group so a test can SIGKILL one with its pool and extraction processes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
import yaml

REDIS_URL = os.environ.get("FILEPROC_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
REPO = Path(__file__).resolve().parents[2]
WORKER_CONFIG = REPO / "deploy" / "celery.yaml"
QUEUES = ("dagster", "extraction")


def _client() -> redis.Redis:
    host = urlsplit(REDIS_URL).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise RuntimeError(f"refusing a non-loopback Redis host for tests: {host}")
    return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)


def is_up() -> bool:
    try:
        return bool(_client().ping())
    except redis.exceptions.ConnectionError:
        return False


def ensure_running() -> str | None:
    """None once Redis answers (started here if it was down), else why not."""
    if is_up():
        return None
    server = shutil.which("redis-server")
    if server is None:
        return f"nothing answers at {REDIS_URL} and redis-server is not installed"
    parts = urlsplit(REDIS_URL)
    done = subprocess.run([server, "--daemonize", "yes", "--bind", "127.0.0.1",
                           "--port", str(parts.port or 6379), "--save", "", "--appendonly", "no"],
                          capture_output=True, text=True, timeout=30)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if is_up():
            return None
        time.sleep(0.2)
    return f"redis-server did not start ({done.returncode}): {done.stderr or done.stdout}"


def flush() -> None:
    """Empty the tests' own Redis database (queued steps, results, unacknowledged tasks)."""
    _client().flushdb()


def worker_config(target: Path, visibility_timeout_s: int) -> Path:
    """deploy/celery.yaml with a short visibility timeout, for a test that kills a worker
    (and the restore sweep of unacknowledged tasks every few seconds)."""
    config: dict[str, Any] = yaml.safe_load(WORKER_CONFIG.read_text())
    options = config["execution"]["config"]["config_source"]["broker_transport_options"]
    options.update(visibility_timeout=visibility_timeout_s, unacked_restore_interval=2,
                   unacked_restore_throttle=1)
    target.write_text(yaml.safe_dump(config))
    return target


class Worker:
    """One ``dagster-celery worker start`` process with ``env`` (one step at a time)."""

    def __init__(self, name: str, env: dict[str, str], log: Path,
                 config: Path = WORKER_CONFIG, queues: tuple[str, ...] = QUEUES) -> None:
        self.name = name
        self.log = log
        self.config = config
        self.queues = queues
        venv = str(Path(sys.executable).parent)  # `worker start` runs `celery` from PATH
        self.env = {**env, "PATH": os.pathsep.join([venv, env.get("PATH", "")])}
        self.process: subprocess.Popen[bytes] | None = None
        self.hostname = ""

    def start(self) -> Worker:
        # One -q with the queues comma-separated: celery keeps only the last of several -Q.
        queue_args = ["-q", ",".join(self.queues)]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "dagster-celery"), "worker", "start",
                 "-A", "dagster_celery.app", "-y", str(self.config), *queue_args,
                 "-n", self.name, "--", "--without-gossip"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def ready(self) -> bool:
        """Whether the worker says it is ready (its node name is then known)."""
        for line in self.log.read_text(errors="replace").splitlines():
            words = line.split()
            if line.rstrip().endswith(" ready.") and words[-2].startswith(f"{self.name}@"):
                self.hostname = words[-2]
                return True
        return False

    def wait_ready(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.ready():
                return
            if self.process is not None and self.process.poll() is not None:
                break
            time.sleep(0.3)
        raise RuntimeError(f"Celery worker {self.name} not ready:\n{self.tail()}")

    def pids(self) -> list[int]:
        """The worker's processes (its group: the command, celery, the pool, extraction)."""
        if self.process is None:
            return []
        found = []
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                with suppress(OSError, ProcessLookupError):
                    if os.getpgid(int(proc.name)) == self.process.pid:
                        found.append(int(proc.name))
        return found

    def kill(self) -> None:
        """SIGKILL the worker with everything it started, as a lost machine would."""
        if self.process is not None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self.kill()
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(30)
        self.kill()

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""
