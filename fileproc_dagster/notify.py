"""Notifications, sent once per file and event through a ledger in the records database.

Every notification is logged and appended to a JSON-lines outbox; real targets (e-mail, Slack,
webhooks...) are Apprise URLs. The ledger row is written before sending and stamped after, and
the outbox is checked for the notification's id before appending, so a retry after a crash
anywhere in between appends nothing twice. An attempt holds the notification while it sends;
another attempt at it (a step run twice at once) waits.

Each target is sent to on its own and the ledger notes each one that accepts: a target that is
down or refuses (an HTTP 500, a closed SMTP port) raises ``Undelivered`` naming it, the
notification stays owed, and a resend goes only to the targets that did not take it.

The URLs carry credentials: they are read from the environment only, never logged, and the
libraries that send (Apprise, urllib3) log through a filter that blanks their secret parts.
A target is named by its position in FILEPROC_NOTIFY_URLS, its scheme and its host.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from fileproc_dagster.errors import TransientError, Undelivered
from fileproc_dagster.storage.ledger import HOLD_S, Ledger
from fileproc_dagster.storage.records import Records

log = logging.getLogger(__name__)

NOTE_PATIENCE_S = HOLD_S / 2  # noting a delivery outlasts a database restart, not the hold
_NOTE_RETRY_S = 2.0
_HELD_POLL_S = 0.5


@dataclass(frozen=True)
class Notification:
    """One message about one file."""

    key: str
    event: str
    message: str

    @property
    def id(self) -> str:
        return f"{self.key}:{self.event}"


def stored_at(location: str | None) -> str:
    """Where the object is, for a message: ``store: /path`` in the local store,
    ``s3: s3://bucket/key`` on S3."""
    if location is None:
        return "store: not stored"
    if location.startswith("file://"):
        return f"store: {unquote(urlparse(location).path)}"
    if location.startswith("s3://"):
        return f"s3: {location}"
    return f"store: {location}"


_SENDER_LOGGERS = ("apprise", "urllib3.connectionpool")


def _split(url: str) -> tuple[str, str, str]:
    """Scheme, authority and the rest of a URL; the authority ends at the path, the query or
    the fragment (``mailto://user:pass@host?to=a@example.org`` has ``@`` in its query)."""
    scheme, _, rest = url.partition("://")
    cut = re.search(r"[/?#]", rest)
    return (scheme, rest, "") if cut is None else (scheme, rest[:cut.start()], rest[cut.start():])


def secret_parts(urls: list[str]) -> list[str]:
    """The parts of Apprise URLs that may be secret, longest first.

    The whole URL, user and password, path and query pieces (tokens of webhook URLs), and an
    authority that is not a host name (Slack-style tokens); raw and percent-decoded.
    """
    parts: set[str] = set()
    for url in urls:
        parts.add(url)
        _, authority, tail = _split(url)
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

    def blank(self, message: str) -> str:
        for secret in self.secrets:
            message = message.replace(secret, "****")
        return message

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.blank(record.getMessage()), ()
        return True


class _Complaints(logging.Handler):
    """What the senders said went wrong (warnings and errors, already blanked)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def take(self) -> str:
        said, self.messages = list(dict.fromkeys(self.messages)), []
        return " / ".join(said)[:300]


@contextmanager
def _redacted(urls: list[str]) -> Iterator[_Complaints]:
    redact = _Redact(secret_parts(urls))
    complaints = _Complaints()
    loggers = [logging.getLogger(name) for name in _SENDER_LOGGERS]
    for logger in loggers:
        logger.addFilter(redact)
    loggers[0].addHandler(complaints)
    try:
        yield complaints
    finally:
        loggers[0].removeHandler(complaints)
        for logger in loggers:
            logger.removeFilter(redact)


@dataclass(frozen=True)
class Target:
    """One Apprise URL of FILEPROC_NOTIFY_URLS; shown by position, scheme and host only."""

    number: int
    url: str = field(repr=False)

    @property
    def id(self) -> str:
        """What the ledger notes of the target: a digest of its URL, never the URL."""
        return hashlib.sha256(self.url.encode()).hexdigest()[:32]

    @property
    def shown(self) -> str:
        """Scheme and host, e.g. ``json://hooks.example.org``; a host without a dot may be a
        token (slack://T000/B000/XXXX) and is left out."""
        scheme, authority, _ = _split(self.url)
        if "://" not in self.url or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]{0,19}", scheme):
            return "no scheme"
        host = authority.rpartition("@")[2]
        return _Redact(secret_parts([self.url])).blank(
            f"{scheme}://{host}" if "." in host else scheme)

    def __str__(self) -> str:
        return f"target {self.number} of FILEPROC_NOTIFY_URLS ({self.shown})"


def _patiently(note: Callable[..., None], *args: str) -> None:
    """Note what a target accepted, waiting out a database outage of up to NOTE_PATIENCE_S:
    the target has the message, and a note lost would have it told again."""
    gives_up = time.monotonic() + NOTE_PATIENCE_S
    while True:
        try:
            note(*args)
            return
        except TransientError as exc:
            if time.monotonic() > gives_up:
                raise
            log.warning("%s; noting the delivery again in %.0f s", exc, _NOTE_RETRY_S)
            time.sleep(_NOTE_RETRY_S)


def _let_go(ledger: Ledger, notification: Notification) -> None:
    """Release a notification this attempt could not finish; with the database down, its
    hold lapses instead."""
    with suppress(TransientError):
        ledger.release(notification.key, notification.event)


class Notifier:
    """Outbox plus optional Apprise targets; ``urls`` may hold secrets and is never logged."""

    def __init__(self, outbox: Path, urls: list[str] | None = None) -> None:
        self.outbox = Path(outbox)
        self.urls = [u for u in (urls or []) if u.strip()]
        self._senders: dict[str, Any] = {}

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

    def _sender(self, url: str) -> Any:
        """Apprise's plugin for one URL (None if it is not a valid one), made once."""
        if url not in self._senders:
            import apprise

            self._senders[url] = apprise.Apprise.instantiate(url)
        return self._senders[url]

    def _send_targets(self, notification: Notification, records: Records,
                      resumed: bool) -> None:
        targets = [Target(number, url) for number, url in enumerate(self.urls, 1)]
        if not targets:
            return
        ledger = records.ledger
        have = ledger.delivered(notification.key, notification.event) if resumed else set()
        failures = []
        with _redacted(self.urls) as complaints:
            for target in (t for t in targets if t.id not in have):
                failure = self._tell(target, notification, complaints)
                if failure is None:
                    _patiently(ledger.mark_delivered, notification.key, notification.event,
                               target.id)
                else:
                    failures.append(failure)
        if failures:
            raise Undelivered(notification.id, failures)

    def _tell(self, target: Target, notification: Notification,
              complaints: _Complaints) -> str | None:
        """Send to one target: None if it accepted the message, else why not."""
        complaints.take()  # what was said before is not about this target
        sender = self._sender(target.url)
        if sender is None:
            return (f"target {target.number} of FILEPROC_NOTIFY_URLS is not a valid Apprise "
                    f"URL ({target.shown})")
        try:
            if sender.notify(title="fileproc", body=notification.message):
                return None
            said = complaints.take()
        except Exception as exc:  # a sender's own bug must not cost the other targets
            said = f"{type(exc).__name__} in Apprise"  # its text might quote the URL
        return f"{target} did not accept the message" + (f": {said}" if said else "")

    def send_once(self, notification: Notification, records: Records) -> bool:
        """Send unless the ledger says it was sent; True if it was sent now.

        The outbox line is written first, exactly once; then each target still owed the
        message is told, and the ledger notes it (a database outage in between is waited
        out, so the target is not told twice). Targets that do not accept it raise
        ``Undelivered`` naming them, without holding back the outbox line or the file, which
        is done; the ledger keeps the notification owed to them until a resend gets through.
        Another attempt sending the same notification at the same time is waited for.
        """
        claim = self._claim(notification, records.ledger)
        if claim is None:
            return False
        log.info("notification: %s", notification.message)
        try:
            # Only an attempt that died half-way needs the outbox scan.
            if claim == "new" or not self._in_outbox(notification.id):
                self._append(notification)
            self._send_targets(notification, records, resumed=claim == "resumed")
        except Exception:
            _let_go(records.ledger, notification)
            raise
        records.ledger.mark_sent(notification.key, notification.event)
        return True

    @staticmethod
    def _claim(notification: Notification, ledger: Ledger) -> str | None:
        """The ledger's claim, once no other attempt holds the notification."""
        waited_until = time.monotonic() + 2 * HOLD_S
        while (claim := ledger.claim(notification.key, notification.event,
                                     notification.message)) == "held":
            if time.monotonic() > waited_until:
                raise TransientError(f"notification {notification.id} is held by another "
                                     f"attempt for over {2 * HOLD_S:.0f} s")
            time.sleep(_HELD_POLL_S)
        return claim
