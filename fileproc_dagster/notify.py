"""Notifications, sent once per file and event through a ledger in the records database.

Every notification is logged and appended to a JSON-lines outbox; real targets (e-mail, Slack,
webhooks...) are Apprise URLs. The ledger row is written before sending and stamped after, and
the outbox is checked for the notification's id before appending, so a retry after a crash
anywhere in between appends nothing twice.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fileproc_dagster.errors import TransientError
from fileproc_dagster.records import RecordStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notification:
    """One message about one file."""

    key: str
    event: str
    message: str

    @property
    def id(self) -> str:
        return f"{self.key}:{self.event}"


class Notifier:
    """Outbox plus optional Apprise targets; ``urls`` may hold secrets and is never logged."""

    def __init__(self, outbox: Path, urls: list[str] | None = None) -> None:
        self.outbox = Path(outbox)
        self.urls = [u for u in (urls or []) if u.strip()]

    def _in_outbox(self, notification_id: str) -> bool:
        if not self.outbox.exists():
            return False
        with open(self.outbox, encoding="utf-8") as lines:
            return any(json.loads(line).get("id") == notification_id
                       for line in lines if line.strip())

    def _append(self, notification: Notification) -> None:
        self.outbox.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({
            "id": notification.id, "key": notification.key, "event": notification.event,
            "message": notification.message, "at": datetime.now(UTC).isoformat(),
        }, ensure_ascii=False)
        with open(self.outbox, "a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())

    def _send_targets(self, notification: Notification) -> None:
        if not self.urls:
            return
        import apprise

        targets = apprise.Apprise()
        for url in self.urls:
            targets.add(url)
        if not targets.notify(title="fileproc", body=notification.message):
            raise TransientError("a notification target did not accept the message")

    def send_once(self, notification: Notification, records: RecordStore) -> bool:
        """Send unless the ledger says it was sent; True if it was sent now.

        External targets are told before the outbox line is written: a crash in between
        repeats the external message (at least once) but never the outbox line (exactly once).
        """
        claim = records.claim_notification(notification.key, notification.event,
                                           notification.message)
        if claim is None:
            return False
        log.info("notification: %s", notification.message)
        # Only an attempt that died half-way needs the outbox scan.
        if claim == "new" or not self._in_outbox(notification.id):
            self._send_targets(notification)
            self._append(notification)
        records.mark_notified(notification.key, notification.event)
        return True
