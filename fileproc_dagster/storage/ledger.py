"""The notification ledger: each message entered before it is sent and stamped after, so a
crash or a target that is down never loses one or sends it twice.

With several targets, each one that accepts a message is noted, and the message is stamped
sent once all of them have it: a resend goes only to the targets still owed it.

One attempt at a time sends a message: the attempt that claims it holds it for a while
(``held_until``), and another attempt at the same message (a step Celery handed to a second
worker while the first still ran it, a run retried beside the one it replaces) is told it is
held and waits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from fileproc_dagster.storage.database import Database
from fileproc_dagster.storage.files import now
from fileproc_dagster.storage.schema import contents, files, notification_deliveries, notifications

HOLD_S = 120.0  # longer than telling every target takes, timeouts included


class Ledger:
    """Notifications owed and sent, keyed by (file key, event)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(self, key: str, event: str, message: str, hold_s: float = HOLD_S) -> str | None:
        """Enter a notification and hold it for ``hold_s`` seconds.

        "new"; "resumed" when an earlier attempt died or gave up before stamping it sent;
        "held" when another attempt is sending it now (nothing is held then); None when it
        was sent.
        """
        at = now()
        this = (notifications.c.key == key) & (notifications.c.event == event)
        hold = {"held_until": at + timedelta(seconds=hold_s)}
        try:
            with self.db.transaction() as conn:
                # On PostgreSQL a concurrent claim waits here for this row, then finds it held.
                if conn.execute(notifications.update().where(
                        this, notifications.c.sent_at.is_(None),
                        sa.or_(notifications.c.held_until.is_(None),
                               notifications.c.held_until < at)).values(hold)).rowcount:
                    return "resumed"
                sent = conn.execute(sa.select(notifications.c.sent_at).where(this)).one_or_none()
                if sent is None:
                    conn.execute(notifications.insert().values(
                        key=key, event=event, message=message, **hold))
                    return "new"
                return "held" if sent[0] is None else None
        except sa.exc.IntegrityError:
            return "held"  # another attempt entered it at the same moment

    def release(self, key: str, event: str) -> None:
        """Let go of a notification not stamped sent, so the next attempt need not wait."""
        with self.db.transaction() as conn:
            conn.execute(notifications.update().where(
                notifications.c.key == key, notifications.c.event == event,
                notifications.c.sent_at.is_(None)).values(held_until=None))

    def mark_sent(self, key: str, event: str) -> None:
        """Stamp a notification sent to every target; the notes of who had it are dropped."""
        with self.db.transaction() as conn:
            conn.execute(notifications.update().where(
                notifications.c.key == key, notifications.c.event == event).values(
                    sent_at=now(), held_until=None))
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
