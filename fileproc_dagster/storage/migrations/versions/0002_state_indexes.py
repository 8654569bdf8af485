"""Indexes on the record's state, for counts by state and type and the files done last.

Metrics count records by (state, type) on every scrape and read the processing times of the
files done last; the reconcile sensor looks for unfinished files by state and last update.
Without these, each is a scan of the whole table, text and all.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database made by create_all before migrations existed may have them already.
    op.create_index("ix_files_state_type", "files", ["state", "type"], if_not_exists=True)
    op.create_index("ix_files_state_updated_at", "files", ["state", "updated_at"],
                    if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_files_state_updated_at", "files")
    op.drop_index("ix_files_state_type", "files")
