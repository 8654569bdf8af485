"""The production deployment on one machine, for the tests: the daemon on deploy/dagster.yaml,
Celery workers, a webserver, and what is needed to compare and measure what they did."""

from __future__ import annotations

import hashlib
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Record

from .celery_workers import WORKER_CONFIG, Worker

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "dagster.yaml"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_LOCATION = re.compile(
    r"(?:s3://[^/\s]+/(?:\S*/)?|file://\S*/|/\S*/)((?:objects|thumbnails)/[0-9a-f]{2}/[^\s'\"]+)")
# A notification names the object by its store: "store: /dir/objects/..." or "s3: s3://...".
_STORE_LABEL = re.compile(r"\b(?:store|s3): (?=(?:objects|thumbnails)/)")


class Webserver:
    """``dagster-webserver`` on a free loopback port, in its own process group."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "dagster-webserver"), "-m",
                 "fileproc_dagster.definitions", "-h", "127.0.0.1", "-p", str(self.port)],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as answer:
            return bytes(answer.read())

    def wait_ready(self, timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with suppress(OSError):
                self.get("/server_info")
                return
            time.sleep(0.5)
        raise RuntimeError("the webserver did not answer")

    def runs_page(self) -> bytes:
        """What the Runs page asks for (GraphQL), as a person watching the UI causes."""
        query = (b'{"query": "{ runsOrError(limit: 20) '
                 b'{ ... on Runs { results { runId status } } } }"}')
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/graphql", data=query,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return bytes(answer.read())

    def stop(self) -> None:
        with suppress(ProcessLookupError):
            self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(20)


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and its descendants, those that ended and were waited for
    included (they count in their parent's children times)."""
    total = 0.0
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    for process in processes:
        with suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


def postmaster_pid() -> int | None:
    """The PostgreSQL server's main process (its backends are its children)."""
    for process in psutil.process_iter(["name", "ppid"]):
        with suppress(psutil.NoSuchProcess):
            if process.info["name"] == "postgres" and \
                    psutil.Process(process.info["ppid"]).name() != "postgres":
                return int(process.pid)
    return None


@dataclass
class CpuMeter:
    """CPU seconds used by each part of the deployment between ``start`` and ``stop``."""

    pids: dict[str, list[int]]
    before: dict[str, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)

    def _read(self) -> dict[str, float]:
        return {part: sum(tree_cpu_s(pid) for pid in pids) for part, pids in self.pids.items()}

    def start(self) -> None:
        self.before = self._read()

    def stop(self) -> dict[str, float]:
        after = self._read()
        self.used = {part: after[part] - self.before[part] for part in self.pids}
        return self.used


def tail(location: str) -> str:
    """``objects/ab/<sha256>`` (or a thumbnail's key) from a local or S3 location."""
    match = _LOCATION.search(location)
    return match.group(1) if match else location


def same_form(text: str) -> str:
    """A message or field with record ids and store locations made store-independent."""
    located = _LOCATION.sub(lambda m: m.group(1), _UUID.sub("<uuid>", text))
    return _STORE_LABEL.sub("stored: ", located)


# How long a step took on this run, in a record's details: every ``*seconds`` key
# (extraction_seconds, ocr_seconds, each OCR page's seconds) and the transcription's
# ``transcribe_s``. Other ``*_s`` keys are facts of the file and stay: duration_s,
# speech_s, declared_duration_s.
TIMINGS = frozenset({"transcribe_s"})


def is_timing(key: str) -> bool:
    """Whether a details key holds a duration of this run rather than a fact of the file."""
    return key.endswith("seconds") or key in TIMINGS


def untimed(value: Any) -> Any:
    """``value`` (a record's details) without the durations of the run, at any depth."""
    if isinstance(value, dict):
        return {k: untimed(v) for k, v in value.items() if not is_timing(k)}
    if isinstance(value, list):
        return [untimed(v) for v in value]
    return value


def comparable(record: Record) -> dict[str, Any]:
    """A record's fields, ids, timestamps and durations aside, locations reduced to keys."""
    fields = record.as_json()
    for moment_or_id in ("uuid", "created_at", "updated_at"):
        del fields[moment_or_id]
    fields["location"] = tail(fields["location"] or "")
    details = dict(fields["details"] or {})
    if "thumbnail" in details:
        details["thumbnail"] = tail(str(details["thumbnail"]))
    fields["details"] = untimed(details)
    return fields


def local_objects(settings: Settings) -> dict[str, str]:
    """Key -> sha256 of the bytes, for every object and thumbnail of a local store."""
    root = settings.store_dir
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")}


def s3_objects(client: Any, bucket: str, prefix: str) -> dict[str, str]:
    """Key (under the prefix) -> sha256 of the bytes, for every object of a bucket."""
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            found[item["Key"].removeprefix(f"{prefix}/")] = hashlib.sha256(body).hexdigest()
    return found


@contextmanager
def workers(env: dict[str, str], home: Path, count: int = 2,
            config: Path = WORKER_CONFIG) -> Iterator[list[Worker]]:
    """``count`` Celery workers on both queues, ready, stopped whatever happens.

    The first is ready before the others start: two processes opening a fresh Dagster
    PostgreSQL storage at once both create its tables, and one fails ("type job_ticks
    already exists").
    """
    started: list[Worker] = []
    try:
        for i in range(count):
            started.append(Worker(f"worker{i + 1}", env, home / f"worker{i + 1}.log",
                                  config).start())
            if i == 0:
                started[0].wait_ready()
        for worker in started[1:]:
            worker.wait_ready()
        yield started
    finally:
        for worker in started:
            worker.stop()
