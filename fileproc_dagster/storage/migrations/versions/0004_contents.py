"""The intake's own table of contents: uploads map to it, the record step inserts the record.

Until now the sensor inserted the record when it registered an upload. ``contents`` takes over
what the intake needs (which partition key a content was given, its first name and size); every
record there is today is registered in it, and ``uploads`` refers to it instead of ``files``.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _uploads(parent: str) -> sa.Table:
    """The uploads table as 0001 made it, its key referring to ``parent``."""
    return sa.Table(
        "uploads", sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(128), sa.ForeignKey(f"{parent}.key"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("mtime_ns", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("duplicate", sa.Boolean, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", "size", "mtime_ns", name="uq_upload_identity"),
        sa.Index("ix_uploads_key", "key"),
    )


def _refer_uploads_to(parent: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # SQLite cannot alter a constraint: the table is copied into its new shape.
        with op.batch_alter_table("uploads", copy_from=_uploads(parent), recreate="always"):
            pass
        return
    for fk in sa.inspect(bind).get_foreign_keys("uploads"):
        op.drop_constraint(fk["name"] or "uploads_key_fkey", "uploads", type_="foreignkey")
    op.create_foreign_key(f"fk_uploads_key_{parent}", "uploads", parent, ["key"], ["key"])


def upgrade() -> None:
    # A database made by ``metadata.create_all`` with today's metadata has the table already.
    if sa.inspect(op.get_bind()).has_table("contents"):
        return
    op.create_table(
        "contents",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute("INSERT INTO contents (key, sha256, name, size, received_at) "
                "SELECT key, sha256, name, size, created_at FROM files")
    _refer_uploads_to("contents")


def downgrade() -> None:
    # Contents the record step had not reached yet get no record back: their uploads are
    # registered again by the sensor, which then inserts the record as before.
    op.execute("DELETE FROM uploads WHERE key NOT IN (SELECT key FROM files)")
    _refer_uploads_to("files")
    op.drop_table("contents")
