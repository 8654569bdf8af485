"""The tables of the records database, as the statements see them (migrations create them).

The intake owns ``contents``, one row per distinct content it was handed (the partition key it
gave that content), and ``uploads``, one per file dropped into the upload directory. ``files``
holds the record users see, inserted by the record step once the object is stored;
``notifications`` is the ledger of messages owed and sent, ``notification_deliveries`` which
targets accepted a message not yet sent to all of them. The full-text index of the records
(``SEARCH_DDL``) is made with ``files``: an FTS5 table on SQLite, a ``tsvector`` column with a
GIN index on PostgreSQL (see ``search.py``). ``passages`` holds each record's text cut into
passages with their places and sentence vectors, for search by meaning (``passages.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A moment kept in UTC and read back aware, in UTC, on every backend.

    PostgreSQL keeps the offset and answers in the session's time zone; SQLite keeps text
    without one (an offset given is dropped, not applied) and answers naive. So values are
    turned to UTC before they are written or compared, a naive one taken as UTC already.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.replace(tzinfo=None) if dialect.name == "sqlite" else moment

    def process_result_value(self, value: datetime | None,
                             dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


metadata = sa.MetaData()

contents = sa.Table(
    "contents", metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),  # of the first upload of this content
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
)

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
    # The text with its structure, and the tables found (``structure.py``): both capped.
    sa.Column("markdown", sa.Text),
    sa.Column("tables", sa.JSON),
    sa.Column("error", sa.Text),
    # Set when a file failed inside a multi-file run, whose Dagster status cannot show it:
    # the sensor then requests a run of that partition alone, which reports the failure.
    sa.Column("verdict_pending", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    # The archive or mail this content first came out of (a member or an attachment).
    sa.Column("parent_key", sa.String(128), index=True),
    # Counts by state and type, the files done last, unfinished files by their last update.
    sa.Index("ix_files_state_type", "state", "type"),
    sa.Index("ix_files_state_updated_at", "state", "updated_at"),
)

# The search index of ``files``, per backend; statements safe to run again. Its words are cut
# by ``search.words`` before they reach the database, so both backends index the same words.
SEARCH_DDL = {
    "sqlite": [
        "CREATE VIRTUAL TABLE IF NOT EXISTS files_fts USING fts5("
        "key UNINDEXED, name, description, text, tokenize = 'unicode61 remove_diacritics 0')",
    ],
    "postgresql": [
        "ALTER TABLE files ADD COLUMN IF NOT EXISTS search tsvector",
        "CREATE INDEX IF NOT EXISTS ix_files_search ON files USING gin (search)",
    ],
}
SEARCH_DROP = {
    "sqlite": ["DROP TABLE IF EXISTS files_fts"],
    "postgresql": ["DROP INDEX IF EXISTS ix_files_search",
                   "ALTER TABLE files DROP COLUMN IF EXISTS search"],
}
for _dialect, _statements in SEARCH_DDL.items():
    for _statement in _statements:
        _ddl = sa.DDL(_statement)  # type: ignore[no-untyped-call]
        sa.event.listen(files, "after_create", _ddl.execute_if(dialect=_dialect))

# A record's passages (``meaning/passages.py``) with their vectors: 384 little-endian float32.
# Ids only grow (AUTOINCREMENT on SQLite, a sequence on PostgreSQL): the count and the largest
# id tell a reader whether its copy of the vectors is current (``vectors.py``).
passages = sa.Table(
    "passages", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(128), sa.ForeignKey("files.key"), nullable=False),
    sa.Column("ordinal", sa.Integer, nullable=False),
    sa.Column("place", sa.Text, nullable=False),  # "page 3 · Costs", "slide 2", "1:05–1:40"
    sa.Column("page", sa.Integer),  # the page or slide number
    sa.Column("start_s", sa.Float),  # the time in a recording
    sa.Column("end_s", sa.Float),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),
    sa.UniqueConstraint("key", "ordinal", name="uq_passages_key_ordinal"),
    sqlite_autoincrement=True,
)

uploads = sa.Table(
    "uploads", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(128), sa.ForeignKey("contents.key"), nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mtime_ns", sa.BigInteger, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # an UploadState
    sa.Column("duplicate", sa.Boolean, nullable=False, default=False),
    # "sensor" uploads get runs from the sensor; "process" ones are run in-process by the CLI.
    sa.Column("origin", sa.String(16), nullable=False, default="sensor"),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    # A member of an archive or a mail: the container's key; its name is the member's.
    sa.Column("parent_key", sa.String(128), index=True),
    sa.UniqueConstraint("name", "size", "mtime_ns", name="uq_upload_identity"),
    sa.Index("uq_uploads_member", "parent_key", "name", unique=True),
)

notifications = sa.Table(
    "notifications", metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("event", sa.String(64), primary_key=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("sent_at", UtcDateTime()),
    # Until when the attempt sending it holds it (another attempt waits; see Ledger.claim).
    sa.Column("held_until", UtcDateTime()),
)

# One row per notification and target that accepted it; ``target`` is a digest of the
# target's URL (which may hold a password), so a resend skips the targets that have it.
notification_deliveries = sa.Table(
    "notification_deliveries", metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("event", sa.String(64), primary_key=True),
    sa.Column("target", sa.String(32), primary_key=True),
    sa.Column("delivered_at", UtcDateTime(), nullable=False),
)
