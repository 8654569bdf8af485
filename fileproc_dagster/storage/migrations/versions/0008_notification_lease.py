"""A notification being sent is held by one attempt: ``notifications.held_until``.

Two attempts at the same notification (a step Celery handed to a second worker while the first
still ran it, a run retried beside the attempt it replaces) would each tell the targets. The
attempt that claims a notification holds it until ``held_until``; another waits for it to be
stamped sent or for the hold to lapse (its holder died).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database made by ``metadata.create_all`` has the column already.
    inspector = sa.inspect(op.get_bind())
    if "held_until" not in {c["name"] for c in inspector.get_columns("notifications")}:
        with op.batch_alter_table("notifications") as batch:
            batch.add_column(sa.Column("held_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("held_until")
