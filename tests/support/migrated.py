"""A records database left at an older migration, with a record written as that schema had it:
what a migration that builds an index for the records already there starts from."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from fileproc_dagster.storage.database import alembic_config, driver_url


def database_at(url: str, revision: str, text: str) -> None:
    """Bring the database at ``url`` to ``revision`` and write one done record, ``old-1``
    (``old.pdf``, a PDF holding ``text``), with plain SQL as an older release would have."""
    engine = sa.create_engine(driver_url(url))
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)
        conn.execute(sa.text(
            "INSERT INTO files (key, uuid, name, size, sha256, state, description, text, "
            "verdict_pending, created_at, updated_at) VALUES ('old-1', 'u-1', 'old.pdf', 1, "
            "'s1', 'done', 'PDF', :text, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
            {"text": text})
    engine.dispose()
