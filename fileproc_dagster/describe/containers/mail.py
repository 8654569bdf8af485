"""E-mail (RFC 822 ``.eml``) and Outlook ``.msg``: headers, the body as text, attachments as
members.

A ``.eml`` is read by the standard library's parser (``policy.default``); an HTML body is
turned to text (scripts and styles dropped). A ``.msg`` is an OLE compound file read with
olefile: its MAPI properties give the headers and body, its attachment storages the members.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from fileproc_dagster.describe.containers.limits import Budget
from fileproc_dagster.errors import BadInput

HEADERS = ("from", "to", "cc", "subject", "date")


@dataclass(frozen=True)
class Mail:
    """What a mail says: its headers and its body as text."""

    headers: dict[str, str]
    body: str
    html: bool = False
    attachments: list[str] = field(default_factory=list)

    def text(self) -> str:
        head = [f"{k.capitalize()}: {self.headers[k]}" for k in HEADERS if self.headers.get(k)]
        return "\n".join(head) + "\n\n" + self.body.strip()

    def properties(self) -> dict[str, Any]:
        found = {"title": self.headers.get("subject"), "author": self.headers.get("from"),
                 "created": self.headers.get("date")}
        return {k: v for k, v in found.items() if v}


class _Text(HTMLParser):
    """The readable text of an HTML body: block elements end lines, scripts are dropped."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table",
              "blockquote", "pre", "section", "article"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_text(html: str) -> str:
    """``<p>Hello <b>you</b></p>`` -> ``Hello you``."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(parser.parts)
             .splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def read_eml(path: Path, budget: Budget) -> Mail:
    with open(path, "rb") as raw:
        message = BytesParser(policy=policy.default).parse(raw)
    assert isinstance(message, EmailMessage)
    headers = {k: str(message[k]) for k in HEADERS if message[k] is not None}
    if not headers:
        raise BadInput("not an e-mail: no From, To, Subject or Date header")
    body, html = "", False
    part = message.get_body(preferencelist=("plain", "html"))
    if part is not None:
        html = part.get_content_type() == "text/html"
        content = part.get_content()
        body = html_text(content) if html else str(content)
    names = []
    for number, attachment in enumerate(message.iter_attachments(), 1):
        payload = attachment.get_payload(decode=True)
        if attachment.get_content_type() == "message/rfc822":
            inner = attachment.get_payload(0)  # a forwarded mail, whole
            payload = inner.as_bytes() if hasattr(inner, "as_bytes") else None
        if not isinstance(payload, bytes):
            continue
        name = attachment.get_filename() or f"attachment-{number}{_suffix(attachment)}"
        names.append(budget.write(budget.claim(_plain(name), len(payload)),
                                  io.BytesIO(payload)).name)
    return Mail(headers, body, html, names)


def _suffix(part: EmailMessage) -> str:
    return {"message/rfc822": ".eml", "text/plain": ".txt", "text/html": ".html",
            "application/pdf": ".pdf"}.get(part.get_content_type(), "")


def _plain(name: str) -> str:
    """An attachment's name is a name, never a path: its last component only."""
    return re.split(r"[\\/]", name)[-1].strip() or "attachment"


# MAPI properties of an Outlook message (``__substg1.0_<tag><type>`` streams).
_MSG = {"subject": "0037", "from": "0C1A", "to": "0E04", "cc": "0E03"}
_BODY, _HTML, _DATE = "1000", "1013", 0x0039  # PR_BODY, PR_HTML, PR_CLIENT_SUBMIT_TIME


def read_msg(path: Path, budget: Budget) -> Mail:
    import olefile

    try:
        ole = olefile.OleFileIO(str(path))
    except OSError as exc:
        raise BadInput(f"damaged Outlook message: {exc}") from exc
    with ole:
        if not ole.exists("__properties_version1.0"):
            raise BadInput("not an Outlook message (no MAPI properties): an Office file?",
                           verdict="unsupported")
        headers = {k: v for k, v in ((k, _msg_text(ole, "", tag)) for k, tag in _MSG.items())
                   if v}
        sent = _msg_time(ole.openstream("__properties_version1.0").read(), 32)
        if sent:
            headers["date"] = sent
        body, html = _msg_text(ole, "", _BODY), False
        if not body.strip():
            raw = _msg_binary(ole, "", _HTML)
            body, html = (html_text(raw.decode("utf-8", "replace")), True) if raw else ("", False)
        names = []
        storages = sorted({e[0] for e in ole.listdir() if e[0].startswith("__attach_version1.0_")})
        for number, storage in enumerate(storages, 1):
            data = _msg_binary(ole, storage, "3701")
            if data is None:
                continue  # an embedded message or an OLE object: not a file of its own
            name = (_msg_text(ole, storage, "3707") or _msg_text(ole, storage, "3704")
                    or f"attachment-{number}")
            names.append(budget.write(budget.claim(_plain(name), len(data)),
                                      io.BytesIO(data)).name)
    return Mail(headers, body, html, names)


def _msg_text(ole: Any, storage: str, tag: str) -> str:
    prefix = f"{storage}/" if storage else ""
    for kind, encoding in (("001F", "utf-16-le"), ("001E", "cp1252")):
        stream = f"{prefix}__substg1.0_{tag}{kind}"
        if ole.exists(stream):
            return str(ole.openstream(stream).read().decode(encoding, "replace").rstrip("\0"))
    return ""


def _msg_binary(ole: Any, storage: str, tag: str) -> bytes | None:
    stream = f"{storage}/__substg1.0_{tag}0102" if storage else f"__substg1.0_{tag}0102"
    return bytes(ole.openstream(stream).read()) if ole.exists(stream) else None


def _msg_time(properties: bytes, header: int) -> str:
    """PR_CLIENT_SUBMIT_TIME from the fixed-size property entries, as ISO 8601 (UTC)."""
    from datetime import UTC, datetime, timedelta

    for at in range(header, len(properties) - 15, 16):
        kind = int.from_bytes(properties[at:at + 2], "little")
        tag = int.from_bytes(properties[at + 2:at + 4], "little")
        if tag == _DATE and kind == 0x0040:
            ticks = int.from_bytes(properties[at + 8:at + 16], "little")
            moment = datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=ticks // 10)
            return moment.isoformat()
    return ""
