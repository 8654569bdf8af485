"""The local PostgreSQL server for the tests: is it up, start and stop it (the cluster under
/etc/postgresql, through pg_ctlcluster), and a throw-away database per test session holding
a fresh schema per test.

The server is the one at ``FILEPROC_TEST_PG_URL`` (default ``postgres@127.0.0.1:5432``, trust
authentication), on loopback only. Every administrative statement opens its own connection,
so a test that restarts the server leaves nothing here holding a dead one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import sqlalchemy as sa

ADMIN_URL = os.environ.get("FILEPROC_TEST_PG_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
CLUSTERS = Path("/etc/postgresql")
# The session database answers in a zone that is not UTC (and not a whole hour off it), so
# the tests see any place where an aware time from PostgreSQL is taken for a UTC one.
TIME_ZONE = "Asia/Kolkata"


def _admin(url: str = ADMIN_URL) -> psycopg2.extensions.connection:
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise RuntimeError(f"refusing a non-loopback PostgreSQL host for tests: {host}")
    conn = psycopg2.connect(url, connect_timeout=5)
    conn.autocommit = True
    return conn


def _execute(url: str, *statements: str) -> None:
    conn = _admin(url)
    try:
        with conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        conn.close()


def is_up(wait_s: float = 0.0) -> bool:
    """Whether the server takes connections (waiting up to ``wait_s`` for it)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            _admin().close()
            return True
        except psycopg2.OperationalError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)


def controllable() -> str | None:
    """None when this process may start and stop the local cluster, else why not."""
    if os.geteuid() != 0:
        return "not running as root"
    if shutil.which("pg_ctlcluster") is None or not CLUSTERS.is_dir():
        return "pg_ctlcluster or /etc/postgresql missing"
    if not any(CLUSTERS.iterdir()):
        return "no cluster under /etc/postgresql"
    return None


def _pg_ctlcluster(action: str) -> None:
    version = sorted(p.name for p in CLUSTERS.iterdir())[0]  # as .ci/run picks it
    done = subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip()).replace("\n", "; ")
        raise RuntimeError(f"pg_ctlcluster {action} failed ({done.returncode}): {said}")


def start() -> None:
    """Start the local cluster and wait until it takes connections."""
    if not is_up():
        _pg_ctlcluster("start")
    if not is_up(wait_s=30):
        raise RuntimeError("PostgreSQL started but takes no connections after 30 s")


def stop() -> None:
    """Stop the local cluster (fast mode: open connections are cut)."""
    _pg_ctlcluster("stop")


def ensure_running() -> str | None:
    """None once the server is up (started here if it was down and we may), else why not."""
    if is_up():
        return None
    reason = controllable()
    if reason is not None:
        return f"nothing answers at {ADMIN_URL} and it cannot be started here ({reason})"
    try:
        start()
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return f"nothing answered at {ADMIN_URL} and starting it failed: {exc}"
    return None


@dataclass(frozen=True)
class SessionDatabase:
    """One throw-away database; each test gets a schema of its own in it."""

    name: str

    @property
    def url(self) -> str:
        """The plain ``postgresql://`` URL of the database (no driver named)."""
        return sa.make_url(ADMIN_URL).set(database=self.name).render_as_string(
            hide_password=False)

    def new_schema(self) -> str:
        """A new empty schema: the database's URL with that schema as its only search path."""
        schema = f"t_{uuid.uuid4().hex[:12]}"
        _execute(self.url, f'CREATE SCHEMA "{schema}"')
        return sa.make_url(self.url).update_query_dict(
            {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)

    def drop_schema(self, url: str) -> None:
        """Drop the schema of a ``new_schema`` URL, with all it holds."""
        options = sa.make_url(url).query.get("options", "")
        schema = str(options).removeprefix("-csearch_path=")
        _execute(self.url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def session_database() -> Iterator[SessionDatabase]:
    """A new database ``fileproc_test_<random>``, dropped afterwards (connections and all)."""
    database = SessionDatabase(f"fileproc_test_{uuid.uuid4().hex[:8]}")
    _execute(ADMIN_URL, f'CREATE DATABASE "{database.name}"',
             f"ALTER DATABASE \"{database.name}\" SET timezone TO '{TIME_ZONE}'")
    try:
        yield database
    finally:
        if is_up(wait_s=30):
            _execute(ADMIN_URL, f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')
