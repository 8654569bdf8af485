"""The records database as the pipeline uses it: records, the intake's contents and uploads,
and the notification ledger over one database (SQLite file or PostgreSQL URL).

Example::

    from fileproc_dagster.storage.records import Records
    records = Records("sqlite:///.fileproc/records.db")
    [r.state for r in records.files.all(limit=5)]
"""

from __future__ import annotations

from fileproc_dagster.storage.database import Database
from fileproc_dagster.storage.files import Child, Files, Record
from fileproc_dagster.storage.ledger import Ledger
from fileproc_dagster.storage.uploads import Content, Received, Upload, Uploads

__all__ = ["Child", "Content", "Files", "Ledger", "Received", "Record", "Records", "Upload",
           "Uploads"]


class Records:
    """The three tables of one records database, sharing its engine."""

    def __init__(self, url: str) -> None:
        self.db = Database(url)
        self.files = Files(self.db)
        self.uploads = Uploads(self.db)
        self.ledger = Ledger(self.db)

    @property
    def url(self) -> str:
        return self.db.url
