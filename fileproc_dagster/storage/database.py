"""One records database on any SQLAlchemy URL: the engine, transactions and migrations.

SQLite (the embedded default) gets WAL and a busy timeout for concurrent runs; PostgreSQL (a
plain ``postgresql://`` URL is enough) a pre-ping pool, so a server restart costs only the
operations that meet it a TransientError (retried), not the process its engine. The schema is
brought to the newest Alembic revision on first use, under a lock (a lock file beside a
SQLite database, an advisory lock on PostgreSQL), so two processes starting at once migrate
it once.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from fileproc_dagster.errors import TransientError

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001"  # the schema that ``metadata.create_all`` made before migrations existed
_PG_LOCK = 0x66696C65  # any constant shared by every process migrating this schema


def driver_url(url: str) -> sa.URL:
    """The SQLAlchemy URL of a records database URL: a plain ``postgresql://`` gets psycopg2.

    SQLAlchemy 2.1 reads a plain ``postgresql://`` as psycopg 3, which is not installed.
    psycopg2 is, because dagster-postgres uses it for Dagster's own storage; the records use
    it too rather than a second driver with its own libpq. A URL that names its driver
    (``postgresql+psycopg://``, ``postgresql+psycopg2://``) keeps it.
    """
    parsed = sa.make_url(url)
    if parsed.drivername == "postgresql":
        return parsed.set(drivername="postgresql+psycopg2")
    return parsed


def unavailable(exc: sa.exc.DBAPIError) -> bool:
    """Whether an error says the database is down, restarting or unreachable (worth a retry):
    a connection refused or cut, a busy SQLite file, a connection found closed."""
    return isinstance(exc, sa.exc.OperationalError) or exc.connection_invalidated


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the packaged migrations (on ``connection`` if given)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """A SQLite file's migration lock, held until the migration's transaction has ended
    (PostgreSQL's advisory lock is taken inside the transaction and ends with it)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; a database from before migrations is adopted."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    with engine.connect() as probe:
        if MigrationContext.configure(probe).get_current_revision() == head:
            return
    with _migration_lock(engine), engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK)))
        config = alembic_config(conn)
        current = MigrationContext.configure(conn).get_current_revision()
        if current is None and sa.inspect(conn).has_table("files"):
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")


class Database:
    """The engine of one database URL, created (and migrated) on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "_engine": None}  # engines do not cross processes

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            url = driver_url(self.url)
            if url.get_backend_name() == "sqlite":
                engine = sa.create_engine(url, connect_args={"timeout": 30})
                sa.event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = sa.create_engine(url, pool_pre_ping=True)
            try:
                migrate(engine)
            except sa.exc.DBAPIError as exc:
                engine.dispose()
                if unavailable(exc):
                    raise self._unavailable(exc) from exc
                raise
            self._engine = engine
        return self._engine

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A transaction; a database that cannot be reached is a transient error (retried)."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.DBAPIError as exc:
            if unavailable(exc):
                raise self._unavailable(exc) from exc
            raise

    def _unavailable(self, exc: sa.exc.DBAPIError) -> TransientError:
        # The driver's message, on one line, after the database it is about (no password).
        reason = "; ".join(line.strip() for line in str(exc.orig).splitlines() if line.strip())
        where = driver_url(self.url).render_as_string(hide_password=True)
        return TransientError(f"records database unavailable ({where}): "
                              f"{reason or type(exc.orig).__name__}")
