"""Real notification targets on loopback, keeping what they receive.

``MailReceiver`` is an SMTP server (aiosmtpd) on 127.0.0.1 and a free port: plain SMTP, no
TLS, optionally checking a login. ``WebhookReceiver`` is a threaded ``http.server`` that
records every POST (path, Authorization header, JSON body) and answers the status it is set
to; it can be stopped (connections refused) and started again on the same port. Each gives
the Apprise URL that reaches it.
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, urlencode

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

SENDER = "fileproc@example.org"
RECIPIENT = "ops@example.org"
_SERVER_LOG = logging.getLogger("mail.log")


@dataclass(frozen=True)
class Mail:
    """One message the SMTP server accepted."""

    sender: str
    recipients: list[str]
    subject: str
    text: str  # the text/plain part, without the trailing line break
    login: str | None  # the user who logged in, if any


class _MailHandler:
    def __init__(self) -> None:
        self.messages: list[Mail] = []

    async def handle_DATA(self, server: SMTP, session: Session,  # noqa: N802 (aiosmtpd API)
                          envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        part = message.get_body(preferencelist=("plain",))
        text = part.get_content().rstrip("\r\n") if part is not None else ""
        self.messages.append(Mail(
            sender=envelope.mail_from or "", recipients=list(envelope.rcpt_tos),
            subject=str(message["Subject"] or ""), text=text,
            login=session.auth_data if session.authenticated else None))
        return "250 OK"


class _Controller(Controller):
    """aiosmtpd's controller on a socket bound beforehand (a free port, no race for it)."""

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        self._sock = sock
        super().__init__(handler, hostname="127.0.0.1", port=sock.getsockname()[1], **kwargs)

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock,
                                       ssl=self.ssl_context)


class MailReceiver:
    """An SMTP server on loopback; with ``user`` and ``password`` it offers AUTH without TLS
    (as loopback allows), refuses any other login and notes who logged in on each mail."""

    def __init__(self, user: str | None = None, password: str | None = None) -> None:
        self.user, self.password = user, password
        self._handler = _MailHandler()
        self._controller: _Controller | None = None
        self._log_level = logging.NOTSET
        self.port = 0

    @property
    def messages(self) -> list[Mail]:
        return list(self._handler.messages)

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                      mechanism: str, data: Any) -> AuthResult:
        ok = (isinstance(data, LoginPassword) and data.login.decode() == self.user
              and data.password.decode() == self.password)
        return AuthResult(success=ok, auth_data=self.user if ok else None)

    def start(self) -> MailReceiver:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        login: dict[str, Any] = {}
        if self.user is not None:
            login = {"authenticator": self._authenticate, "auth_require_tls": False}
        # aiosmtpd logs every command at INFO (an encoded login too), and at WARNING that it
        # uses a deprecated attribute of its own on each login.
        self._log_level = _SERVER_LOG.level
        _SERVER_LOG.setLevel(logging.ERROR)
        self._controller = _Controller(self._handler, sock, **login)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
            _SERVER_LOG.setLevel(self._log_level)

    def url(self, to: str = RECIPIENT, sender: str = SENDER, login: bool = True) -> str:
        """The Apprise URL: ``mailto://`` is plain SMTP (no TLS) on the port given."""
        user = (f"{quote(self.user, safe='')}:{quote(self.password or '', safe='')}@"
                if login and self.user is not None else "")
        return f"mailto://{user}127.0.0.1:{self.port}?{urlencode({'from': sender, 'to': to})}"


@dataclass(frozen=True)
class Post:
    """One POST the webhook received, and the status it was answered with."""

    path: str
    authorization: str
    body: dict[str, Any]
    status: int


class _HookHandler(BaseHTTPRequestHandler):
    server: _HookServer

    def do_POST(self) -> None:  # noqa: N802 (the http.server API)
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        receiver = self.server.receiver
        status = receiver.status
        with receiver.lock:
            receiver.posts.append(Post(self.path, self.headers.get("Authorization", ""),
                                       json.loads(raw or b"{}"), status))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass  # ``posts`` is the record


class _HookServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, receiver: WebhookReceiver) -> None:
        super().__init__(("127.0.0.1", port), _HookHandler)
        self.receiver = receiver


class WebhookReceiver:
    """An HTTP endpoint on loopback for Apprise's ``json://`` URLs."""

    def __init__(self) -> None:
        self.port = 0
        self.status = 200
        self.posts: list[Post] = []
        self.lock = threading.Lock()
        self._server: _HookServer | None = None

    @property
    def accepted(self) -> list[str]:
        """The messages of the POSTs answered 200."""
        with self.lock:
            return [p.body.get("message", "") for p in self.posts if p.status == 200]

    def start(self) -> WebhookReceiver:
        """Serve (again, on the same port after ``stop``)."""
        self._server = _HookServer(self.port, self)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until ``start``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def url(self, path: str = "/hook", userinfo: str = "") -> str:
        """The Apprise URL that POSTs JSON here (``json://`` is plain HTTP)."""
        return f"json://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}{path}"
