"""The tables of the records database, as the statements see them (migrations create them).

``files`` holds one row per file content (the record users see), ``uploads`` one per file
dropped into the upload directory, ``notifications`` the ledger of messages owed and sent.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

files = sa.Table(
    "files", metadata,
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
    # Set when a file failed inside a multi-file run, whose Dagster status cannot show it:
    # the sensor then requests a run of that partition alone, which reports the failure.
    sa.Column("verdict_pending", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

uploads = sa.Table(
    "uploads", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(128), sa.ForeignKey("files.key"), nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mtime_ns", sa.BigInteger, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # an UploadState
    sa.Column("duplicate", sa.Boolean, nullable=False, default=False),
    # "sensor" uploads get runs from the sensor; "process" ones are run in-process by the CLI.
    sa.Column("origin", sa.String(16), nullable=False, default="sensor"),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("name", "size", "mtime_ns", name="uq_upload_identity"),
)

notifications = sa.Table(
    "notifications", metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("event", sa.String(64), primary_key=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
)
