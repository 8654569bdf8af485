"""URLs as they may be shown: without the login they carry.

Database, broker, object-store endpoint and notification URLs may hold a user and password
(``postgresql://user:secret@db/records``) or a token in their query. What is logged, put in
metadata or an error, or printed by ``fileproc status`` goes through these first.

Example::

    without_userinfo("postgresql://fileproc:s3cret@db:5432/records")
    # 'postgresql://***@db:5432/records'
    hide_userinfo("cannot reach redis://:s3cret@cache:6379/0 (refused)")
    # 'cannot reach redis://***@cache:6379/0 (refused)'
"""

from __future__ import annotations

import re

HIDDEN = "***"
# A URL's scheme and authority: the login ends at the last "@" before the path, the query or
# the fragment (``mailto://user:pw@host?to=a@example.org`` has an "@" in its query).
_LOGIN = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<login>[^/?#\s@]*@)+")
_SECRET_QUERY = re.compile(
    r"(?P<name>[?&;](?:[^=&;#\s]*(?:pass|secret|token|key|signature|credential)[^=&;#\s]*)=)"
    r"(?P<value>[^&;#\s]*)", re.IGNORECASE)


def hide_userinfo(text: str) -> str:
    """``text`` with the login of every URL in it, and query values named like a password,
    token or key, replaced by ``***``."""
    text = _LOGIN.sub(lambda m: f"{m['scheme']}{HIDDEN}@", text)
    return _SECRET_QUERY.sub(lambda m: f"{m['name']}{HIDDEN}", text)


def without_userinfo(url: str | None) -> str:
    """The URL as it may be shown: its login (and secret query values) replaced by ``***``;
    empty for no URL."""
    return hide_userinfo(url or "")
