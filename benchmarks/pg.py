"""Throw-away PostgreSQL databases for the production-storage runs (127.0.0.1 only)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _with_database(url: str, name: str) -> str:
    """The SQLAlchemy URL of database ``name`` (psycopg2 named: SQLAlchemy 2.1 would
    otherwise pick psycopg 3, which the project does not install)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql+psycopg2", path=f"/{name}"))


@contextmanager
def temporary_databases(admin_url: str, names: Sequence[str]) -> Iterator[list[str]]:
    """Create the databases (dropping leftovers of an earlier run), yield their URLs, drop
    them afterwards. RuntimeError when the server cannot be reached."""
    import psycopg2

    host = urlsplit(admin_url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise RuntimeError(f"refusing a non-loopback PostgreSQL host: {host}")
    try:
        conn = psycopg2.connect(admin_url, connect_timeout=10)
    except psycopg2.OperationalError as exc:
        raise RuntimeError(str(exc).strip()) from exc
    conn.autocommit = True

    def drop_all() -> None:
        with conn.cursor() as cursor:
            for name in names:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    try:
        drop_all()
        with conn.cursor() as cursor:
            for name in names:
                cursor.execute(f'CREATE DATABASE "{name}"')
        yield [_with_database(admin_url, name) for name in names]
    finally:
        drop_all()
        conn.close()


def run_backend(command: Sequence[str], backend: str, out_path: Path, pg_admin_url: str,
                databases: Sequence[str], env: Mapping[str, str],
                timeout_s: float) -> dict[str, Any]:
    """Run one backend's benchmark in a child process, which writes its figures to
    ``out_path``; on PostgreSQL, in ``databases`` created for it (Dagster's, the records')
    and dropped afterwards. An unreachable server is a result, not an error."""
    if backend == "postgres":
        try:
            with temporary_databases(pg_admin_url, databases) as (dagster_url, records_url):
                subprocess.run([*command, "--dagster-pg", dagster_url, "--records-pg",
                                records_url], env=env, check=True, timeout=timeout_s)
        except (OSError, RuntimeError) as exc:
            return {"error": f"PostgreSQL unavailable: {exc}"}
    else:
        subprocess.run(command, env=env, check=True, timeout=timeout_s)
    result: dict[str, Any] = json.loads(out_path.read_text())
    return result
