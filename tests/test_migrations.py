"""Schema migrations: a fresh database and one made before migrations both reach the head, on
SQLite and on PostgreSQL (the ``new_db_url`` fixture), and processes starting at once migrate
it once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from fileproc_dagster.storage.database import MIGRATIONS, driver_url, migrate
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.schema import metadata

HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()
REPO = Path(__file__).resolve().parents[1]
RACERS = 3
RACER = """
import sys, time
from pathlib import Path
import sqlalchemy as sa
from fileproc_dagster.storage.database import driver_url, migrate
engine = sa.create_engine(driver_url(sys.argv[1]))
go = Path(sys.argv[2])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.002)
migrate(engine)
"""


def _revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _shape(engine: sa.Engine) -> dict[str, object]:
    """Tables, columns (name, nullable), indexes and unique constraints, comparable."""
    inspector = sa.inspect(engine)
    return {table: (
        sorted((c["name"], c["nullable"]) for c in inspector.get_columns(table)),
        sorted(tuple(i["column_names"]) for i in inspector.get_indexes(table)),
        sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
    ) for table in sorted(inspector.get_table_names()) if table != "alembic_version"}


def test_a_fresh_database_is_migrated_to_head_on_first_use(db_url: str) -> None:
    records = Records(db_url)
    assert records.files.all() == []
    assert _revision(records.db.engine) == HEAD


def test_a_database_made_before_migrations_is_adopted(new_db_url: Callable[[], str]) -> None:
    url = new_db_url()
    old = sa.create_engine(driver_url(url))
    metadata.create_all(old)  # how the schema was made before migrations existed
    made_by_create_all = _shape(old)
    with old.begin() as conn:
        conn.execute(sa.insert(metadata.tables["notifications"]).values(
            key="k", event="processed", message="kept"))
    old.dispose()
    records = Records(url)
    assert records.ledger.claim("k", "processed", "kept") == "resumed"  # data kept
    assert _revision(records.db.engine) == HEAD
    fresh = Records(new_db_url())
    assert _shape(records.db.engine) == _shape(fresh.db.engine) == made_by_create_all


def test_migrating_twice_or_at_once_is_safe(db_url: str, tmp_path: Path) -> None:
    # Separate processes, as a daemon, a code server and run workers starting together are;
    # each is ready (imported, engine made) before any is let go.
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    racers = [subprocess.Popen([sys.executable, "-c", RACER, db_url, str(go)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(RACERS)]
    try:
        for racer in racers:
            assert racer.stdout is not None and racer.stdout.readline() == "ready\n"
        go.touch()
        outcomes = [(racer.wait(timeout=120), racer.communicate()[1]) for racer in racers]
    finally:
        for racer in racers:
            racer.kill()
    assert outcomes == [(0, "")] * RACERS
    engine = sa.create_engine(driver_url(db_url))
    migrate(engine)
    assert _revision(engine) == HEAD
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).all() == [(HEAD,)]
    engine.dispose()
