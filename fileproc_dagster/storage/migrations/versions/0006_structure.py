"""A record keeps its document's structure: ``markdown`` (the text with headings, lists,
tables and page boundaries) and ``tables`` (JSON: each table's name and rows of cells).

Both are empty for the records there are: a file described again gets them.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = (("markdown", sa.Text), ("tables", sa.JSON))


def upgrade() -> None:
    # A database made by ``metadata.create_all`` with today's metadata has the columns already.
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("files")}
    for name, kind in COLUMNS:
        if name not in present:
            op.add_column("files", sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE on both backends (SQLite 3.35 and later drops a column in place): a
    # copied table would give SQLite's rows new rowids, which the search index refers to.
    for name, _ in reversed(COLUMNS):
        op.drop_column("files", name)
