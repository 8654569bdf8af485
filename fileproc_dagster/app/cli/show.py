"""``fileproc show``: one record whole (facts, details, transcript with times, text)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.rule import Rule
from rich.text import Text

from fileproc_dagster.app.cli.output import Output, ago, quoted, size, styled_state
from fileproc_dagster.app.cli.setup import pass_output
from fileproc_dagster.storage.records import Record, Records

# Shown in a section of their own (or not at all: the text repeats the segments).
_APART = {"segments"}


def timestamp(seconds: float) -> str:
    """``01:02.5`` (or ``1:01:02.5`` past an hour) for a position in a recording."""
    minutes, rest = divmod(max(0.0, seconds), 60)
    hours, minutes = divmod(int(minutes), 60)
    return (f"{hours}:" if hours else "") + f"{minutes:02d}:{rest:04.1f}"


def transcript(record: Record) -> list[str]:
    """``[00:00.0 → 00:03.2] words`` per segment of a recording's transcript."""
    segments = (record.details or {}).get("segments") or []
    return [f"[{timestamp(s['start'])} → {timestamp(s['end'])}] {str(s['text']).strip()}"
            for s in segments]


def facts(record: Record, quarantine: Path | None) -> list[tuple[str, str]]:
    """(label, value) lines describing the record."""
    kind = f"{record.type} ({record.mime})" if record.type and record.mime else record.type
    lines = [("name", quoted(record.name)), ("key", record.key), ("uuid", record.uuid),
             ("state", str(record.state)), ("type", kind or "-"),
             ("size", f"{size(record.size)} ({record.size} bytes)"),
             ("sha256", record.sha256), ("object", record.location or "not stored")]
    if quarantine is not None:
        lines.append(("quarantine", str(quarantine)))
    for label, moment in (("registered", record.created_at), ("changed", record.updated_at)):
        if moment is not None:
            lines.append((label, f"{moment:%Y-%m-%d %H:%M:%S} UTC ({ago(moment)})"))
    if record.description:
        lines.append(("description", record.description))
    if record.error:
        lines.append(("reason" if record.state.ended else "last error", record.error))
    return lines


def detail_lines(details: dict[str, Any]) -> list[tuple[str, str]]:
    return [(name, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
            for name, value in details.items() if name not in _APART]


def find(records: Records, key_or_uuid: str) -> Record:
    found = records.files.lookup(key_or_uuid)
    if found is None:
        raise click.ClickException(f"no record has the key or uuid {quoted(key_or_uuid)} "
                                   "(see 'fileproc records')")
    return found


def _render(out: Output, title: str, lines: list[tuple[str, str]] | list[str]) -> None:
    if not lines:
        return
    if out.terminal:
        out.print(Rule(Text(title, style="bold"), align="left"))
    else:
        out.line(f"-- {title} --")
    width = max((len(item[0]) for item in lines if isinstance(item, tuple)), default=0)
    for item in lines:
        if isinstance(item, str):
            out.line(item) if not out.terminal else out.print(Text(item))
        elif out.terminal:
            label, value = item
            shown = styled_state(value) if label == "state" else Text(value)
            out.print(Text.assemble((f"{label:<{width}}  ", "bold"), shown))
        else:
            out.line(f"{item[0]:<{width}}  {item[1]}")


@click.command()
@click.argument("key_or_uuid", metavar="KEY|UUID")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object: every field of the record, times and quarantine folder.")
@pass_output
def show(out: Output, key_or_uuid: str, as_json: bool) -> int:
    """Show one record whole, by key or uuid.

    Its facts, where the object is, details, transcript with times, and text.

    \b
    Examples:
      fileproc show notice_scan-41c77bb49526
      fileproc show 6f1c2a7e-5b8e-4a8e-9a53-0c1d2e3f4a5b
      fileproc show delivery_message-2f0e4c1d9a8b --json | jq .details.segments
    """
    out.settings.ensure_dirs()
    record = find(Records(out.settings.db_url), key_or_uuid)
    kept = out.settings.quarantine_dir / record.key
    quarantine = kept if kept.is_dir() else None
    if as_json:
        out.json({**record.as_json(), "mime": record.mime, "created_at": record.created_at,
                  "updated_at": record.updated_at,
                  "quarantine": str(quarantine) if quarantine else None}, indent=2)
        return 0
    _render(out, "record", facts(record, quarantine))
    _render(out, "details", detail_lines(record.details or {}))
    timed = transcript(record)
    _render(out, "transcript", timed)
    if record.text and not timed:
        _render(out, "text", record.text.splitlines())
    return 0
