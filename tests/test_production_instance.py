"""The production Dagster instance (deploy/dagster.yaml): it loads on a real PostgreSQL with
the URL or the parts from the environment, ``fileproc init --production`` installs it, and
the real daemon on it turns dropped files into done records, its runs kept in PostgreSQL."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg2
import pytest
import sqlalchemy as sa
import yaml
from daemon import (
    drop,
    finished,
    leftovers,
    live_runs,
    make_text,
    notifications,
    objects,
    run_partitions,
    running,
)

from fileproc_dagster.app import cli
from fileproc_dagster.app.instance import on_postgres, prepare_dagster_home
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Records

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy" / "dagster.yaml"
PACKAGED = REPO / "fileproc_dagster" / "app" / "dagster_production.yaml"
ASSET_NAMES = ("stored_object", "file_record", "file_description", "processed_file")
DAGSTER_TABLES = {"runs", "event_logs", "jobs", "instigators", "asset_keys"}


def _driver_url(url: str) -> str:
    """A plain ``postgresql://`` URL with psycopg2 named, as DAGSTER_PG_URL must be."""
    return sa.make_url(url).set(drivername="postgresql+psycopg2").render_as_string(
        hide_password=False)


def _tables(url: str) -> set[str]:
    """The tables of the schema a ``pg_url`` URL searches."""
    schema = str(sa.make_url(url).query["options"]).removeprefix("-csearch_path=")
    with psycopg2.connect(sa.make_url(url).set(query={}).render_as_string(
            hide_password=False)) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables "
                       "WHERE table_schema = %s", (schema,))
        return {row[0] for row in cursor.fetchall()}


@dg.asset
def probe() -> int:
    """A trivial asset whose run shows where the instance keeps its runs."""
    return 1


def _round_trip(dagster_home: Path) -> dg.DagsterRun:
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        result = dg.materialize([probe], instance=instance)
        assert result.success
        run = instance.get_run_by_id(result.run_id)
    assert run is not None
    return run


def test_deploy_config_is_the_packaged_production_one() -> None:
    assert DEPLOY.resolve() == PACKAGED.resolve()
    config = yaml.safe_load(DEPLOY.read_text())
    assert config["storage"] == {"postgres": {"postgres_url": {"env": "DAGSTER_PG_URL"}}}
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert "max_concurrent_runs" not in config["run_coordinator"]["config"]
    assert config["concurrency"]["runs"]["max_concurrent_runs"] >= 2
    assert config["run_monitoring"]["enabled"] and config["run_retries"]["enabled"]
    embedded = yaml.safe_load((REPO / "fileproc_dagster" / "app" / "dagster.yaml").read_text())
    for same in ("run_monitoring", "run_retries", "sensors", "telemetry"):
        assert config[same] == embedded[same], same


def test_the_instance_loads_on_postgresql_from_the_url(
        tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_PG_URL", _driver_url(pg_url))
    home = tmp_path / "dagster"
    prepare_dagster_home(home, production=True)
    assert (home / "dagster.yaml").read_bytes() == DEPLOY.read_bytes()
    run = _round_trip(home)
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert _tables(pg_url) >= DAGSTER_TABLES  # runs, events and schedules in PostgreSQL
    assert not list(home.rglob("*.db"))  # and no SQLite beside them


def _parts_form() -> dict[str, Any]:
    """The config with the commented ``postgres_db`` block of deploy/dagster.yaml in use."""
    lines = DEPLOY.read_text().splitlines()
    block = []
    for line in lines[lines.index("    # postgres_db:"):]:
        if not line.startswith("    # "):
            break
        block.append(line.removeprefix("    # "))
    config: dict[str, Any] = yaml.safe_load(DEPLOY.read_text())
    config["storage"] = {"postgres": yaml.safe_load("\n".join(block))}
    return config


def _parts_env(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    parsed = sa.make_url(url)
    for var, value in {"DAGSTER_PG_HOST": parsed.host, "DAGSTER_PG_DB": parsed.database,
                       "DAGSTER_PG_USER": parsed.username,
                       "DAGSTER_PG_PASSWORD": parsed.password or ""}.items():
        monkeypatch.setenv(var, str(value))


def test_the_instance_loads_from_the_parts_with_the_driver_named(
        tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _parts_form()
    parts = config["storage"]["postgres"]["postgres_db"]
    assert parts["scheme"] == "postgresql+psycopg2"
    _parts_env(monkeypatch, pg_url)
    parts["params"] = dict(sa.make_url(pg_url).query)  # the test's own schema
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    assert _round_trip(home).status == dg.DagsterRunStatus.SUCCESS
    assert _tables(pg_url) >= DAGSTER_TABLES
    # Without the scheme the URL is a plain postgresql://, which SQLAlchemy 2.1 gives to
    # psycopg 3; the project keeps one driver (psycopg2), so that form fails to load.
    del parts["scheme"]
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ModuleNotFoundError, match="psycopg"):
        _round_trip(home)


def test_dagster_refuses_the_coordinators_limit_beside_a_concurrency_block(
        tmp_path: Path) -> None:
    """Why deploy/dagster.yaml keeps the run limits under ``concurrency: runs:``."""
    config = yaml.safe_load(DEPLOY.read_text())
    config["run_coordinator"]["config"]["max_concurrent_runs"] = 2
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(dg.DagsterInvalidConfigError, match="concurrency > runs"):
        dg.DagsterInstance.from_config(str(tmp_path))


def _init(settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setenv("DAGSTER_HOME", str(settings.dagster_home))
    return cli.main(["init", *args])


def test_init_production_installs_the_production_config(
        settings: Settings, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DAGSTER_PG_URL", "postgresql://fileproc@db.internal:5432/dagster")
    assert _init(settings, monkeypatch, "--production") == 0
    target = settings.dagster_home / "dagster.yaml"
    assert target.read_bytes() == DEPLOY.read_bytes()
    assert "psycopg2" in capsys.readouterr().err  # a plain URL: the driver it needs
    # Run again it keeps the file (an operator's edits survive) and says nothing more.
    target.write_text(target.read_text() + "# edited\n")
    monkeypatch.setenv("DAGSTER_PG_URL", "postgresql+psycopg2://fileproc@db.internal/dagster")
    assert _init(settings, monkeypatch, "--production") == 0
    assert target.read_text().endswith("# edited\n")
    assert capsys.readouterr().err == ""


def test_init_production_refuses_to_keep_an_embedded_config(
        settings: Settings, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert _init(settings, monkeypatch) == 0
    embedded = (settings.dagster_home / "dagster.yaml").read_text()
    assert not on_postgres(yaml.safe_load(embedded))
    assert _init(settings, monkeypatch, "--production") == 1
    assert "move it away" in capsys.readouterr().err
    assert (settings.dagster_home / "dagster.yaml").read_text() == embedded


@pytest.mark.slow
def test_the_daemon_on_postgresql_processes_dropped_files(
        settings: Settings, pg_url: str, postgres: object, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Dagster's storage and the records both on PostgreSQL, each in a schema of its own."""
    dagster_url = postgres.new_schema()  # type: ignore[attr-defined]
    monkeypatch.setenv("DAGSTER_PG_URL", _driver_url(dagster_url))
    settings = dataclasses.replace(settings, db_url=pg_url)
    files = [make_text(tmp_path / f"minutes_{i}.txt", i) for i in range(4)]
    try:
        # The production environment of docs/production.md, event batches included.
        env = {"FILEPROC_DB_URL": pg_url, "DAGSTER_EVENT_BATCH_SIZE": "50"}
        with running(settings, env, dagster_yaml=DEPLOY) as daemon:
            for path in files:
                drop(settings, path)
            records = Records(settings.db_url)
            done = daemon.wait_for("the files to finish",
                                   lambda: finished(records, len(files)), 300)
            daemon.wait_for("the uploads to be deleted", lambda: not leftovers(settings), 60)
            with daemon.instance() as instance:
                # A run's last events (written in batches) land after its files are done.
                daemon.wait_for("the runs to end", lambda: not live_runs(instance), 120)
                runs = instance.get_runs(dg.RunsFilter(job_name="process_file"))
                covered = run_partitions(instance)
                # Written in batches: every asset still has one materialization per file.
                materialized = {asset: sorted(
                    r.partition_key for r in instance.fetch_materializations(
                        dg.AssetKey(asset), limit=100).records)
                    for asset in ASSET_NAMES}
        assert sorted((r.name, r.state, r.type) for r in done) == [
            (p.name, "done", "document") for p in files]
        assert sorted(objects(settings).values()) == [1] * len(files)
        assert sorted(notifications(settings).items()) == sorted(
            ((r.key, "processed"), 1) for r in done)
        assert runs and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        assert sorted(k for keys in covered.values() for k in keys) == sorted(
            r.key for r in done)
        assert materialized == {asset: sorted(r.key for r in done) for asset in ASSET_NAMES}
        with psycopg2.connect(sa.make_url(dagster_url).render_as_string(
                hide_password=False)) as conn, conn.cursor() as cursor:
            cursor.execute("SELECT run_id FROM runs")
            assert {row[0] for row in cursor.fetchall()} >= {r.run_id for r in runs}
        assert not list(settings.dagster_home.rglob("*.db"))
    finally:
        postgres.drop_schema(dagster_url)  # type: ignore[attr-defined]
