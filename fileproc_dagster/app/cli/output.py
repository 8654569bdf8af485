"""How the commands talk: rich tables and colours on a terminal, plain lines or JSON in a pipe.

One ``Output`` per invocation decides once whether standard output is a terminal; commands
ask it for a table or a line and never test the terminal themselves. Names from uploads are
untrusted: they are shown quoted in plain text (``quoted``) and never parsed as rich markup.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from fileproc_dagster.settings import Settings

STATE_STYLES = {"done": "green", "failed": "bold red", "quarantined": "yellow",
                "received": "cyan", "stored": "cyan", "described": "cyan"}
_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _is_terminal(stream: TextIO) -> bool:
    return stream.isatty() and os.environ.get("TERM") != "dumb"


@dataclass
class Output:
    """Where a command writes, and in which form (rich on a terminal, plain otherwise)."""

    settings: Settings
    terminal: bool = field(default_factory=lambda: _is_terminal(sys.stdout))
    console: Console = field(default_factory=lambda: Console(highlight=False))
    errors: Console = field(default_factory=lambda: Console(stderr=True, highlight=False))

    def line(self, text: str = "", *, err: bool = False) -> None:
        click.echo(text, err=err)

    def json(self, value: Any, *, indent: int | None = None) -> None:
        click.echo(json.dumps(value, ensure_ascii=False, default=str, indent=indent))

    def print(self, *renderables: Any) -> None:
        """Rich renderables on the terminal (tables, styled text)."""
        self.console.print(*renderables)

    def table(self, *columns: str) -> Table:
        table = Table(*columns, box=None, header_style="bold", pad_edge=False)
        return table


def styled_state(state: str) -> Text:
    return Text(state, style=STATE_STYLES.get(state, ""))


def quoted(text: str) -> str:
    """A name in quotes, control characters escaped and undecodable bytes shown as U+FFFD."""
    return json.dumps(os.fsencode(text).decode("utf-8", "replace"), ensure_ascii=False)


def one_line(text: str | None, width: int | None = None) -> str:
    """Text on one line (whitespace runs folded), cut to ``width`` characters with an ellipsis."""
    flat = " ".join((text or "").split())
    return flat if width is None or len(flat) <= width else flat[:width - 1] + "…"


def parse_since(text: str) -> datetime:
    """A moment from a span back from now (``90s``, ``15m``, ``1h``, ``2d``, ``1w``, ``1h30m``)
    or an ISO date or time (``2026-05-01``, ``2026-05-01T08:00``, UTC unless it says)."""
    cleaned = text.strip()
    if cleaned and _SPAN.sub("", cleaned).strip() == "":
        seconds = sum(float(n) * _UNIT_S[u.lower()] for n, u in _SPAN.findall(cleaned))
        return datetime.now(UTC) - timedelta(seconds=seconds)
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"{text!r} is neither a span (30m, 1h, 2d, 1w) nor a date "
                         "(2026-05-01 or 2026-05-01T08:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class SinceType(click.ParamType[datetime, Any]):
    """``--since``: a span back from now or a date, as ``parse_since`` reads it."""

    name = "SPAN|DATE"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_since(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def ago(moment: datetime | float | None, at: float | None = None) -> str:
    """``12 s ago``, ``5 min ago``, ``3 h ago``, ``2 d ago``; ``never`` for None."""
    if moment is None:
        return "never"
    stamp = moment.timestamp() if isinstance(moment, datetime) else moment
    return f"{span(max(0.0, (at or datetime.now(UTC).timestamp()) - stamp))} ago"


def span(seconds: float) -> str:
    """A duration the way a person says it: ``4.2 s``, ``5 min``, ``3 h``, ``2 d``."""
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    raise AssertionError("unreachable")


def size(n: int) -> str:
    """Bytes the way a person reads them: ``512 B``, ``1.5 KiB``, ``2.0 MiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def counts_line(counts: dict[str, int], order: Sequence[str]) -> str:
    """``2 done, 1 quarantined`` (zeros left out), or ``none``."""
    parts = [f"{counts[k]} {k}" for k in order if counts.get(k)]
    return ", ".join(parts) or "none"
