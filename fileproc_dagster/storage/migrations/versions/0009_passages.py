"""Passages of the records with their sentence vectors, for search by meaning.

Each record's text is cut into passages that keep their place (page, slide, heading path,
time in a recording), each with its all-MiniLM-L6-v2 vector (``storage/passages.py``); the
records already there are cut and embedded here, as the records layer does for every write.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from fileproc_dagster.storage.passages import rebuild
from fileproc_dagster.storage.schema import files

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    # A database made by ``metadata.create_all`` has the table already.
    if not sa.inspect(bind).has_table("passages"):
        op.create_table(
            "passages",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("key", sa.String(128), sa.ForeignKey("files.key"), nullable=False),
            sa.Column("ordinal", sa.Integer, nullable=False),
            sa.Column("place", sa.Text, nullable=False),
            sa.Column("page", sa.Integer),
            sa.Column("start_s", sa.Float),
            sa.Column("end_s", sa.Float),
            sa.Column("text", sa.Text, nullable=False),
            sa.Column("vector", sa.LargeBinary, nullable=False),
            sa.UniqueConstraint("key", "ordinal", name="uq_passages_key_ordinal"),
            sqlite_autoincrement=True,
        )
    if bind.execute(sa.select(files.c.key).limit(1)).first() is not None:
        rebuild(bind)


def downgrade() -> None:
    op.drop_table("passages")
