"""Members of archives and mails: an upload and a record may name the file they came out of.

``uploads.parent_key`` is set on the upload of each member or attachment, registered by the
description of its container; a container registers a member name once (unique with the
parent). ``files.parent_key`` is the container the record's content first came out of.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database made by ``metadata.create_all`` has the columns and indexes already.
    inspector = sa.inspect(op.get_bind())
    for table in ("uploads", "files"):
        if "parent_key" not in {c["name"] for c in inspector.get_columns(table)}:
            with op.batch_alter_table(table) as batch:
                batch.add_column(sa.Column("parent_key", sa.String(128), nullable=True))
    op.create_index("ix_uploads_parent_key", "uploads", ["parent_key"], if_not_exists=True)
    op.create_index("uq_uploads_member", "uploads", ["parent_key", "name"], unique=True,
                    if_not_exists=True)
    op.create_index("ix_files_parent_key", "files", ["parent_key"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_files_parent_key", "files")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("parent_key")
    op.drop_index("uq_uploads_member", "uploads")
    op.drop_index("ix_uploads_parent_key", "uploads")
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("parent_key")
