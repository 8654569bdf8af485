"""Notifications, sent once per file and event through a ledger in the records database.

Every notification is logged and appended to a JSON-lines outbox; real targets (e-mail, Slack,
webhooks...) are Apprise URLs. The ledger row is written before sending and stamped after, and
the outbox is checked for the notification's id before appending, so a retry after a crash
anywhere in between appends nothing twice.

The URLs carry credentials: they are read from the environment only, never logged, and the
libraries that send (Apprise, urllib3) log through a filter that blanks their secret parts.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

from fileproc_dagster.errors import TransientError
from fileproc_dagster.storage.records import Records

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


_SENDER_LOGGERS = ("apprise", "urllib3.connectionpool")


def secret_parts(urls: list[str]) -> list[str]:
    """The parts of Apprise URLs that may be secret, longest first.

    The whole URL, user and password, path and query pieces (tokens of webhook URLs), and an
    authority that is not a host name (Slack-style tokens); raw and percent-decoded.
    """
    parts: set[str] = set()
    for url in urls:
        parts.add(url)
        _, _, rest = url.partition("://")
        authority, _, tail = rest.partition("/")
        userinfo, at, host = authority.rpartition("@")
        parts.update(userinfo.split(":") if at else [])
        if "." not in host:
            parts.add(host)
        parts.update(p for p in re.split(r"[/?&=#,]", tail) if len(p) >= 6)
    found = {p for p in parts | {unquote(p) for p in parts} if len(p) >= 3}
    return sorted(found, key=len, reverse=True)


class _Redact(logging.Filter):
    """Blanks secret parts of notification URLs out of log records."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for secret in self.secrets:
            message = message.replace(secret, "****")
        record.msg, record.args = message, ()
        return True


@contextmanager
def _redacted(urls: list[str]) -> Iterator[None]:
    redact = _Redact(secret_parts(urls))
    loggers = [logging.getLogger(name) for name in _SENDER_LOGGERS]
    for logger in loggers:
        logger.addFilter(redact)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(redact)


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

        with _redacted(self.urls):
            targets = apprise.Apprise()
            for number, url in enumerate(self.urls, 1):
                if not targets.add(url):
                    # Only its position and scheme: the URL itself may hold a password.
                    raise TransientError(
                        f"notification target {number} of FILEPROC_NOTIFY_URLS is not a valid "
                        f"Apprise URL (scheme {url.partition(':')[0][:20]!r})")
            if not targets.notify(title="fileproc", body=notification.message):
                raise TransientError("a notification target did not accept the message")

    def send_once(self, notification: Notification, records: Records) -> bool:
        """Send unless the ledger says it was sent; True if it was sent now.

        The outbox line is written first, exactly once; external targets are told until the
        ledger is stamped (at least once). A target that is down raises TransientError (the
        step retries) without holding back the outbox line or the file, which is done.
        """
        claim = records.ledger.claim(notification.key, notification.event,
                                           notification.message)
        if claim is None:
            return False
        log.info("notification: %s", notification.message)
        # Only an attempt that died half-way needs the outbox scan.
        if claim == "new" or not self._in_outbox(notification.id):
            self._append(notification)
        self._send_targets(notification)
        records.ledger.mark_sent(notification.key, notification.event)
        return True
