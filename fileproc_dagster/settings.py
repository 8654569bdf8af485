"""Where the embedded default keeps its state, resolved from the environment.

Everything lives under ``FILEPROC_HOME`` (default ``./.fileproc``); each path can be moved by
its own variable. Read once, by the definitions function and the CLI, never at import time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fileproc_dagster.storage.retention import DEFAULT_AFTER_DAYS, parse_after_days
from fileproc_dagster.workers.worker import DEFAULT_MEMORY_BYTES as DEFAULT_WORKER_MEMORY_BYTES

# Files above this are refused unread (quarantined with a reason); FILEPROC_MAX_UPLOAD_BYTES.
DEFAULT_MAX_UPLOAD_BYTES = 512 * 2**20
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_size(text: str | None, default: int) -> int:
    """Bytes from ``"536870912"``, ``"512M"``, ``"512MiB"`` or ``"2G"`` (binary units)."""
    if not text or not text.strip():
        return default
    cleaned = text.strip().upper().removesuffix("B").removesuffix("I")
    number, unit = (cleaned[:-1], cleaned[-1]) if cleaned[-1:] in _UNITS else (cleaned, "")
    try:
        value = float(number) * _UNITS[unit]
    except ValueError:
        raise ValueError(f"not a size: {text!r} (e.g. 536870912, 512M or 2G)") from None
    if value < 0:
        raise ValueError(f"a size cannot be negative: {text!r}")
    return int(value)


def parse_count(text: str | None) -> int:
    """A count of workers: a whole number, 0 or empty meaning "one per CPU"."""
    if not text or not text.strip():
        return 0
    if not text.strip().isdigit():
        raise ValueError(f"not a count of workers: {text!r} (e.g. 2; 0: one per CPU)")
    return int(text)


_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


@dataclass(frozen=True)
class S3Location:
    """Where objects go on S3: ``FILEPROC_STORE=s3://bucket/prefix``, on an optional
    S3-compatible endpoint (``FILEPROC_S3_ENDPOINT_URL``)."""

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None


def parse_store(url: str | None, endpoint_url: str | None = None) -> S3Location | None:
    """The S3 location named by ``FILEPROC_STORE``; None (the local directory) when unset."""
    if not url or not url.strip():
        return None
    scheme, separator, rest = url.strip().partition("://")
    if scheme.lower() != "s3" or not separator:
        raise ValueError(f"FILEPROC_STORE must look like s3://bucket/prefix, not {url!r} "
                         f"(leave it unset to keep objects in FILEPROC_STORE_DIR)")
    bucket, _, prefix = rest.partition("/")
    prefix = prefix.strip("/")
    if not _BUCKET.fullmatch(bucket):
        raise ValueError(f"FILEPROC_STORE names no valid S3 bucket: {bucket!r}")
    if prefix and any(part in ("", ".", "..") for part in prefix.split("/")):
        raise ValueError(f"FILEPROC_STORE has a malformed key prefix: {prefix!r}")
    return S3Location(bucket, prefix, endpoint_url or None)


EXECUTORS = ("in_process", "celery")
BROKER_VARIABLE = "FILEPROC_CELERY_BROKER"
BACKEND_VARIABLE = "FILEPROC_CELERY_BACKEND"


@dataclass(frozen=True)
class Execution:
    """How the steps of a run execute: ``in_process`` in the run worker (the default), or
    ``celery``: each step a task on the broker, run by Celery workers on any machine. The
    broker's and the result backend's URLs stay in their variables (they may hold passwords):
    Dagster is given the variables' names."""

    executor: str = "in_process"
    broker_variable: str = BROKER_VARIABLE
    backend_variable: str = BACKEND_VARIABLE


def parse_execution(env: Mapping[str, str]) -> Execution:
    """The executor chosen by ``FILEPROC_EXECUTOR``; Celery needs its broker and backend."""
    given = env.get("FILEPROC_EXECUTOR") or "in_process"
    executor = given.strip().lower().replace("-", "_")
    if executor not in EXECUTORS:
        raise ValueError(f"FILEPROC_EXECUTOR must be one of {', '.join(EXECUTORS)}, "
                         f"not {given!r}")
    if executor == "celery":
        missing = [v for v in (BROKER_VARIABLE, BACKEND_VARIABLE) if not env.get(v)]
        if missing:
            raise ValueError(f"FILEPROC_EXECUTOR=celery needs {' and '.join(missing)} "
                             "(e.g. redis://127.0.0.1:6379/0 for both)")
    return Execution(executor)


@dataclass(frozen=True)
class Settings:
    """Resolved locations and knobs of one fileproc installation."""

    home: Path
    upload_dir: Path
    store_dir: Path
    quarantine_dir: Path
    outbox: Path
    dagster_home: Path
    db_url: str
    sensor_interval_s: int = 3
    settle_s: float = 2.0
    notify_urls: str = ""
    max_batch: int = 50
    parallel_runs: int = 2
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    worker_memory_bytes: int = DEFAULT_WORKER_MEMORY_BYTES
    extraction_workers: int = 0  # per run; 0: one per CPU the run may use
    s3: S3Location | None = None  # objects on S3 instead of store_dir
    image_tags: bool = True  # FILEPROC_IMAGE_TAGS=0 turns the image tagger and faces off
    execution: Execution = Execution()
    # Finished files leave the partitions after this many days (None: never); records stay.
    retire_after_days: float | None = DEFAULT_AFTER_DAYS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``FILEPROC_*`` variables, defaulting everything under FILEPROC_HOME."""
        env = os.environ if env is None else env
        home = Path(env.get("FILEPROC_HOME") or ".fileproc").absolute()

        def path(var: str, default: str) -> Path:
            return Path(env.get(var) or home / default).absolute()

        return cls(
            home=home,
            upload_dir=path("FILEPROC_UPLOAD_DIR", "uploads"),
            # Objects go to store/objects/ab/...: an installation made before, whose store
            # was objects/ (objects/objects/ab/...), keeps it.
            store_dir=path("FILEPROC_STORE_DIR",
                           "objects" if (home / "objects" / "objects").is_dir() else "store"),
            quarantine_dir=path("FILEPROC_QUARANTINE_DIR", "quarantine"),
            outbox=path("FILEPROC_OUTBOX", "outbox.jsonl"),
            dagster_home=path("DAGSTER_HOME", "dagster"),
            db_url=env.get("FILEPROC_DB_URL") or f"sqlite:///{home / 'records.db'}",
            sensor_interval_s=int(env.get("FILEPROC_SENSOR_INTERVAL_S") or 3),
            settle_s=float(env.get("FILEPROC_SETTLE_S") or 2.0),
            notify_urls=env.get("FILEPROC_NOTIFY_URLS", ""),
            max_batch=int(env.get("FILEPROC_MAX_BATCH") or 50),
            parallel_runs=int(env.get("FILEPROC_PARALLEL_RUNS") or 2),
            max_upload_bytes=parse_size(env.get("FILEPROC_MAX_UPLOAD_BYTES"),
                                        DEFAULT_MAX_UPLOAD_BYTES),
            worker_memory_bytes=parse_size(env.get("FILEPROC_WORKER_MEMORY_BYTES"),
                                           DEFAULT_WORKER_MEMORY_BYTES),
            extraction_workers=parse_count(env.get("FILEPROC_EXTRACTION_WORKERS")),
            s3=parse_store(env.get("FILEPROC_STORE"), env.get("FILEPROC_S3_ENDPOINT_URL")),
            image_tags=(env.get("FILEPROC_IMAGE_TAGS") or "1").strip().lower()
            not in ("0", "false", "no", "off"),
            execution=parse_execution(env),
            retire_after_days=parse_after_days(env.get("FILEPROC_RETIRE_AFTER_DAYS")),
        )

    def ensure_dirs(self) -> None:
        """Create the directories of the embedded default."""
        local_store = (self.store_dir,) if self.s3 is None else ()
        for directory in (self.upload_dir, *local_store, self.quarantine_dir,
                          self.outbox.parent, self.dagster_home):
            directory.mkdir(parents=True, exist_ok=True)
