"""The notification ledger: each message entered before it is sent and stamped after, so a
crash or a target that is down never loses one or sends it twice.

With several targets, each one that accepts a message is noted, and the message is stamped
sent once all of them have it: a resend goes only to the targets still owed it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from fileproc_dagster.storage.database import Database
from fileproc_dagster.storage.files import now
from fileproc_dagster.storage.schema import contents, files, notification_deliveries, notifications


class Ledger:
    """Notifications owed and sent, keyed by (file key, event)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(self, key: str, event: str, message: str) -> str | None:
        """Enter a notification: "new", "resumed" (an earlier try died before it was stamped
        sent), or None when it was already sent."""
        with self.db.transaction() as conn:
            sent = conn.execute(sa.select(notifications.c.sent_at).where(
                notifications.c.key == key, notifications.c.event == event)).one_or_none()
            if sent is None:
                conn.execute(notifications.insert().values(key=key, event=event, message=message))
                return "new"
            return "resumed" if sent[0] is None else None

    def mark_sent(self, key: str, event: str) -> None:
        """Stamp a notification sent to every target; the notes of who had it are dropped."""
        with self.db.transaction() as conn:
            conn.execute(notifications.update().where(
                notifications.c.key == key, notifications.c.event == event).values(sent_at=now()))
            conn.execute(notification_deliveries.delete().where(
                notification_deliveries.c.key == key, notification_deliveries.c.event == event))

    def delivered(self, key: str, event: str) -> set[str]:
        """The targets (by the digest of their URL) that accepted a notification."""
        query = sa.select(notification_deliveries.c.target).where(
            notification_deliveries.c.key == key, notification_deliveries.c.event == event)
        with self.db.transaction() as conn:
            return set(conn.execute(query).scalars())

    def mark_delivered(self, key: str, event: str, target: str) -> None:
        """Note that one target accepted a notification; noting it twice is harmless."""
        try:
            with self.db.transaction() as conn:
                conn.execute(notification_deliveries.insert().values(
                    key=key, event=event, target=target, delivered_at=now()))
        except sa.exc.IntegrityError:
            pass  # another attempt noted it first

    def owed(self) -> int:
        """How many notifications were entered and never stamped sent."""
        query = sa.select(sa.func.count()).select_from(notifications).where(
            notifications.c.sent_at.is_(None))
        with self.db.transaction() as conn:
            return int(conn.execute(query).scalar_one())

    def unsent(self, idle_since: datetime, limit: int = 500) -> list[tuple[str, str, str]]:
        """Notifications never stamped sent for files untouched since ``idle_since``.

        (key, event, message): what a notification target that was down or refused left
        behind; the ledger holds the message, so it can be sent again as it was.
        """
        # A file not recorded yet (a run that failed before its record step) counts from its
        # registration.
        touched = sa.func.coalesce(files.c.updated_at, contents.c.received_at)
        query = (sa.select(notifications.c.key, notifications.c.event, notifications.c.message)
                 .join(contents, contents.c.key == notifications.c.key)
                 .outerjoin(files, files.c.key == notifications.c.key)
                 .where(notifications.c.sent_at.is_(None), touched < idle_since)
                 .order_by(touched, notifications.c.event).limit(limit))
        with self.db.transaction() as conn:
            return [(key, event, message) for key, event, message in conn.execute(query)]
