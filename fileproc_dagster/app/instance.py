"""The Dagster home: the embedded default's instance config, or production's (PostgreSQL)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from fileproc_dagster.errors import ConfigurationError

EMBEDDED = "dagster.yaml"
PRODUCTION = "dagster_production.yaml"  # deploy/dagster.yaml links to it
PG_URL_VARIABLE = "DAGSTER_PG_URL"
_PG_STORAGE = ("run_storage", "event_log_storage", "schedule_storage")


def prepare_dagster_home(dagster_home: Path, production: bool = False) -> Path:
    """Create DAGSTER_HOME and give it the packaged dagster.yaml unless it has its own.

    With ``production``, the packaged file is the production one (storage on PostgreSQL);
    a dagster.yaml already there is kept if its storage is on PostgreSQL, and is a
    ConfigurationError otherwise (it is never overwritten).
    """
    dagster_home.mkdir(parents=True, exist_ok=True)
    target = dagster_home / "dagster.yaml"
    if target.exists():
        if production and not on_postgres(yaml.safe_load(target.read_text()) or {}):
            raise ConfigurationError(
                f"{target} exists and keeps Dagster's storage elsewhere than on PostgreSQL; "
                "move it away to install the production one")
        return target
    packaged = resources.files("fileproc_dagster.app") / (PRODUCTION if production else EMBEDDED)
    with resources.as_file(packaged) as source:
        shutil.copyfile(source, target)
    return target


def on_postgres(config: Mapping[str, Any]) -> bool:
    """Whether an instance config keeps runs, events and schedules on dagster-postgres."""
    if "postgres" in (config.get("storage") or {}):
        return True
    return all(str((config.get(part) or {}).get("module", "")).startswith("dagster_postgres")
               for part in _PG_STORAGE)


def production_problems(env: Mapping[str, str]) -> list[str]:
    """What in the environment keeps the production instance from loading, as sentences."""
    url = env.get(PG_URL_VARIABLE, "")
    if not url:
        return [f"{PG_URL_VARIABLE} is not set: Dagster's storage needs "
                "postgresql+psycopg2://user:password@host:5432/db"]
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        return [f"{PG_URL_VARIABLE} is not a database URL"]
    if parsed.get_backend_name() != "postgresql":
        return [f"{PG_URL_VARIABLE} names {parsed.get_backend_name()!r}, not PostgreSQL"]
    try:
        parsed.get_dialect().import_dbapi()
    except ImportError as exc:
        return [f"{PG_URL_VARIABLE} needs a driver that is not installed ({exc}): use "
                "postgresql+psycopg2://... (a plain postgresql:// means psycopg 3 to SQLAlchemy)"]
    return []
