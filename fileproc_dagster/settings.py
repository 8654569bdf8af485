"""Where the embedded default keeps its state, resolved from the environment.

Everything lives under ``FILEPROC_HOME`` (default ``./.fileproc``); each path can be moved by
its own variable. Read once, by the definitions function and the CLI, never at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


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
    notify_urls: str = ""

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
            store_dir=path("FILEPROC_STORE_DIR", "objects"),
            quarantine_dir=path("FILEPROC_QUARANTINE_DIR", "quarantine"),
            outbox=path("FILEPROC_OUTBOX", "outbox.jsonl"),
            dagster_home=path("DAGSTER_HOME", "dagster"),
            db_url=env.get("FILEPROC_DB_URL") or f"sqlite:///{home / 'records.db'}",
            sensor_interval_s=int(env.get("FILEPROC_SENSOR_INTERVAL_S") or 3),
            notify_urls=env.get("FILEPROC_NOTIFY_URLS", ""),
        )

    def ensure_dirs(self) -> None:
        """Create the directories of the embedded default."""
        for directory in (self.upload_dir, self.store_dir, self.quarantine_dir,
                          self.outbox.parent, self.dagster_home):
            directory.mkdir(parents=True, exist_ok=True)
