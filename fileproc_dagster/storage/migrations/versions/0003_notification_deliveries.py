"""Which notification targets accepted a message, so that a resend skips them.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database made by ``metadata.create_all`` is stamped at the baseline and brought up
    # from there; one made with today's metadata has this table already.
    if sa.inspect(op.get_bind()).has_table("notification_deliveries"):
        return
    op.create_table(
        "notification_deliveries",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("event", sa.String(64), primary_key=True),
        sa.Column("target", sa.String(32), primary_key=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notification_deliveries")
