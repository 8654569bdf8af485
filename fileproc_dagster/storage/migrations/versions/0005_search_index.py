"""The full-text search index of the records, built for the records already there.

SQLite gets an FTS5 table ``files_fts``, PostgreSQL a ``tsvector`` column ``files.search`` with
a GIN index; both are filled from every record's name, description and text by the same
tokenizer the records layer uses to keep them in step afterwards (``storage/search.py``).
Running it again (a downgrade and upgrade) rebuilds the index from scratch.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from fileproc_dagster.storage.schema import SEARCH_DDL, SEARCH_DROP
from fileproc_dagster.storage.search import rebuild

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    # A database made by ``metadata.create_all`` has the index (empty or not) already.
    for statement in SEARCH_DDL[bind.dialect.name]:
        op.execute(statement)
    rebuild(bind)


def downgrade() -> None:
    for statement in SEARCH_DROP[op.get_bind().dialect.name]:
        op.execute(statement)
