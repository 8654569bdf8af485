"""The records, uploads and notification ledger tables as first released.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("type", sa.String(16)),
        sa.Column("mime", sa.String(128)),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("location", sa.Text),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("text", sa.Text),
        sa.Column("details", sa.JSON),
        sa.Column("error", sa.Text),
        sa.Column("verdict_pending", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "uploads",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(128), sa.ForeignKey("files.key"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("mtime_ns", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("duplicate", sa.Boolean, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", "size", "mtime_ns", name="uq_upload_identity"),
    )
    op.create_index("ix_uploads_key", "uploads", ["key"])
    op.create_table(
        "notifications",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("event", sa.String(64), primary_key=True),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("notifications")
    op.drop_index("ix_uploads_key", "uploads")
    op.drop_table("uploads")
    op.drop_table("files")
