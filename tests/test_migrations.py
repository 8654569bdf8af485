"""Schema migrations: a fresh database and one made before migrations both reach the head."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from fileproc_dagster.storage.database import MIGRATIONS, migrate
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.schema import metadata

HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()


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


def test_a_fresh_database_is_migrated_to_head_on_first_use(tmp_path: Path) -> None:
    records = Records(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert records.files.all() == []
    assert _revision(records.db.engine) == HEAD


def test_a_database_made_before_migrations_is_adopted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = sa.create_engine(url)
    metadata.create_all(old)  # how the schema was made before migrations existed
    made_by_create_all = _shape(old)
    with old.begin() as conn:
        conn.execute(sa.insert(metadata.tables["notifications"]).values(
            key="k", event="processed", message="kept"))
    records = Records(url)
    assert records.ledger.claim("k", "processed", "kept") == "resumed"  # data kept
    assert _revision(records.db.engine) == HEAD
    fresh = Records(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert _shape(records.db.engine) == _shape(fresh.db.engine) == made_by_create_all


def test_migrating_twice_or_at_once_is_safe(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    errors: list[BaseException] = []

    def start() -> None:
        try:
            migrate(sa.create_engine(url))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = sa.create_engine(url)
    migrate(engine)
    assert _revision(engine) == HEAD
