"""Records on the real PostgreSQL server: the plain URL, a server restart survived, and the
assets ending a record as they do on SQLite. (The records-level tests run on both backends
through the ``records`` fixture.)"""

from __future__ import annotations

import dataclasses
import os
import shutil
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from fileproc_dagster.definitions import ASSETS, build_resources
from fileproc_dagster.defs.partitions import uploads_partitions
from fileproc_dagster.errors import TransientError
from fileproc_dagster.intake.admit import receive
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.database import driver_url
from fileproc_dagster.storage.files import Record
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.states import State
from support import postgres
from support.production import untimed

SHA = "ef" * 32


@pytest.mark.parametrize(("url", "driver"), [
    ("postgresql://u@h:5432/db", "postgresql+psycopg2"),  # plain: the installed driver
    ("postgresql+psycopg2://u@h:5432/db", "postgresql+psycopg2"),
    ("postgresql+psycopg://u@h:5432/db", "postgresql+psycopg"),  # named: kept
    ("sqlite:///records.db", "sqlite"),
])
def test_a_plain_url_gets_the_installed_driver_a_named_one_is_kept(url: str,
                                                                   driver: str) -> None:
    assert driver_url(url).drivername == driver
    assert driver_url(url).database == sa.make_url(url).database


def test_a_server_that_is_not_there_is_a_transient_error_at_first_use() -> None:
    records = Records("postgresql://postgres:secret@127.0.0.1:9/nowhere")  # nothing listens
    with pytest.raises(TransientError) as down:
        records.files.all()
    message = str(down.value)
    assert message.startswith("records database unavailable "
                              "(postgresql+psycopg2://postgres:***@127.0.0.1:9/nowhere): "), message
    assert "Connection refused" in message and "\n" not in message and "secret" not in message
    with pytest.raises(TransientError):  # still no engine kept: the next use tries again
        records.files.all()


def test_a_plain_postgresql_url_works(pg_url: str) -> None:
    assert pg_url.startswith("postgresql://")
    records = Records(pg_url)
    key = records.uploads.receive("k-efefefefefef", "k.txt", SHA, 5, 1).key
    records.files.insert(key, State.RECEIVED)
    assert records.db.engine.dialect.driver == "psycopg2"
    with records.db.transaction() as conn:
        assert conn.execute(sa.text("SELECT current_schema()")).scalar_one() == \
            sa.make_url(pg_url).query["options"].removeprefix("-csearch_path=")
    assert [r.key for r in records.files.all()] == [key]


@pytest.mark.serial
def test_a_server_restart_is_survived(pg_url: str) -> None:
    if (reason := postgres.controllable()) is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must be able to stop and start PostgreSQL: {reason}")
        pytest.skip(f"cannot stop and start the PostgreSQL server here: {reason}")
    records = Records(pg_url)
    key = records.uploads.receive("k-efefefefefef", "k.txt", SHA, 5, 1).key
    records.files.insert(key, State.RECEIVED)
    try:
        postgres.stop()
        with pytest.raises(TransientError) as down:
            records.files.advance(key, State.STORED, type="document", location="file:///x")
    finally:
        postgres.start()
    message = str(down.value)
    assert message.startswith("records database unavailable (postgresql+psycopg2://"), message
    assert "Connection refused" in message or "shutting down" in message, message
    assert "\n" not in message and "Traceback" not in message
    # The same object, its pool holding connections the restart cut, works again; the move
    # that failed changed nothing.
    assert (before := records.files.get(key)) is not None and before.state == State.RECEIVED
    record = records.files.advance(key, State.STORED, type="document", location="file:///x")
    assert (record.state, record.location) == (State.STORED, "file:///x")
    assert [r.key for r in records.files.all()] == [key]


def _process(settings: Settings, source: Path) -> Record:
    """Drop ``source`` and materialize the four assets of its partition in-process."""
    shutil.copyfile(source, settings.upload_dir / source.name)
    key = receive(settings.upload_dir, source.name, Records(settings.db_url)).key
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(uploads_partitions.name, [key])
        result = dg.materialize(ASSETS, partition_key=key, instance=instance,
                                resources=build_resources(settings))
        assert result.success
    record = Records(settings.db_url).files.get(key)
    assert record is not None
    return record


@pytest.mark.parametrize("sample", ["lending_policy", "hills_photo"])
def test_the_assets_end_a_record_on_postgresql_as_on_sqlite(
        settings: Settings, samples: dict[str, Path], pg_url: str, sample: str) -> None:
    on_sqlite = _process(settings, samples[sample])
    # The same upload directory and object store; only the records database moves.
    on_postgresql = _process(dataclasses.replace(settings, db_url=pg_url), samples[sample])
    assert on_postgresql.state == State.DONE and on_postgresql.uuid != on_sqlite.uuid
    assert on_postgresql.description and on_postgresql.details and on_postgresql.location
    for record in (on_sqlite, on_postgresql):  # times aware, in UTC, on both
        assert record.created_at and record.updated_at
        assert record.created_at.utcoffset() == record.updated_at.utcoffset() == timedelta(0)
    aside = {"uuid": "", "created_at": None, "updated_at": None}

    def timeless(record: Record) -> Record:  # durations differ run to run
        assert (record.details or {}).get("extraction_seconds", 0) > 0
        return dataclasses.replace(record, details=untimed(record.details), **aside)

    assert timeless(on_postgresql) == timeless(on_sqlite)
    assert not (settings.upload_dir / samples[sample].name).exists()
