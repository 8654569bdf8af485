"""``fileproc show``: one record whole (facts, properties, details, transcript with times,
text), or its Markdown alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.rule import Rule
from rich.text import Text

from fileproc_dagster.app.cli.output import Output, ago, quoted, size, styled_state
from fileproc_dagster.app.cli.setup import pass_output
from fileproc_dagster.storage import fields as record_fields
from fileproc_dagster.storage.fields import Field
from fileproc_dagster.storage.records import Record, Records
from fileproc_dagster.storage.states import State
from fileproc_dagster.storage.structure import rows_of

# Shown in a section of their own (or not at all: the text repeats the segments).
_APART = {"segments", "properties", "members"}
# Record fields shown in a section of their own, labels other than the field's name, and
# what is said of a field that has no value (the others are left out then).
_SECTIONS = {"details", "text"}
_LABELS = {"location": "object", "created_at": "registered", "updated_at": "changed"}
_UNSET = {"location": "not stored"}


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
    """(label, value) lines describing the record: its fields (``storage/fields.py``) but
    those with a section of their own, then the quarantine folder."""
    lines = []
    for field in record_fields.stored():
        value = field.get(record)
        if field.name in _SECTIONS or (value is None and field.name not in _UNSET):
            continue
        lines.append((_label(field, record), _shown(field, value)))
    if quarantine is not None:
        lines.append(("quarantine", str(quarantine)))
    return lines


def _label(field: Field, record: Record) -> str:
    if field.name == "error":
        return "reason" if record.state.ended else "last error"
    return _LABELS.get(field.name, field.name)


def _shown(field: Field, value: Any) -> str:
    if value is None:
        return _UNSET[field.name]
    if field.name == "name":
        return quoted(value)
    if field.name == "size":
        return f"{size(value)} ({value} bytes)"
    if field.kind == "moment":
        return f"{value:%Y-%m-%d %H:%M:%S} UTC ({ago(value)})"
    if field.name == "markdown":
        return f"{len(value):,} characters (fileproc show KEY --markdown)"
    if field.name == "tables":
        return tables_line(value)
    if field.kind == "json":
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def whole(record: Record, quarantine_dir: Path) -> dict[str, Any]:
    """The JSON of a record in ``show`` and ``records``: its fields and quarantine folder."""
    kept = quarantine_dir / record.key
    return {**record.as_json(), "quarantine": str(kept) if kept.is_dir() else None}


def json_help(start: str) -> str:
    """The help of a ``--json`` option: what it prints, then every field it holds."""
    return f"{start}: {record_fields.names()}, quarantine (see 'fileproc show --help')."


def fields_help() -> str:
    """Each field of the JSON with its meaning, one a line (the help's closing section)."""
    described = [(f.name, f.help) for f in record_fields.stored()]
    described.append(("quarantine", "the folder keeping the original, if it was quarantined"))
    width = max(len(name) for name, _ in described)
    return "\b\nFields of --json:\n" + "\n".join(f"  {name:<{width}}  {meaning}"
                                                  for name, meaning in described)


def tables_line(tables: list[dict[str, Any]]) -> str:
    """``2: Sheet1 (3 rows × 4 columns), Totals (...)``: how many tables, and each one's size."""
    found = rows_of(tables)
    each = [f"{name or 'table'} ({max(len(rows) - 1, 0)} row{'' if len(rows) == 2 else 's'}"
            f" × {max((len(r) for r in rows), default=0)} columns)" for name, rows in found]
    return f"{len(found)}: {', '.join(each)}" if found else "0"


def property_lines(details: dict[str, Any]) -> list[tuple[str, str]]:
    """The document's own properties (title, author, created...), one a line."""
    found = details.get("properties")
    if not isinstance(found, dict):
        return []
    return [(name, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
            for name, value in found.items() if value not in (None, "", [], {})]


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


@click.command(epilog=fields_help())
@click.argument("key_or_uuid", metavar="KEY|UUID")
@click.option("--json", "as_json", is_flag=True, help=json_help("One JSON object"))
@click.option("--markdown", "as_markdown", is_flag=True,
              help="Print only the text as Markdown (headings, lists, tables, page breaks).")
@pass_output
def show(out: Output, key_or_uuid: str, as_json: bool, as_markdown: bool) -> int:
    """Show one record whole, by key or uuid.

    Its facts (how many tables among them), where the object is, the document's properties,
    details, transcript with times, and text; or with --markdown its Markdown alone.

    \b
    Examples:
      fileproc show notice_scan-41c77bb49526
      fileproc show 6f1c2a7e-5b8e-4a8e-9a53-0c1d2e3f4a5b
      fileproc show delivery_message-2f0e4c1d9a8b --json | jq .details.segments
      fileproc show report-9c2d41e07b3a --markdown > report.md
    """
    if as_json and as_markdown:
        raise click.UsageError("choose one of --json and --markdown")
    out.settings.ensure_dirs()
    records = Records(out.settings.db_url)
    record = find(records, key_or_uuid)
    if as_markdown:
        if not record.markdown:
            raise click.ClickException(f"{quoted(record.key)} has no Markdown: "
                                       f"{_no_markdown(record)}")
        out.line(record.markdown.rstrip("\n"))
        return 0
    if as_json:
        out.json(whole(record, out.settings.quarantine_dir), indent=2)
        return 0
    kept = out.settings.quarantine_dir / record.key
    quarantine = kept if kept.is_dir() else None
    _render(out, "record", facts(record, quarantine))
    _render(out, "properties", property_lines(record.details or {}))
    _render(out, "details", detail_lines(record.details or {}))
    _render(out, "members", [(child.name, f"{child.state}  {child.key}")
                             for child in records.files.children(record.key)])
    timed = transcript(record)
    _render(out, "transcript", timed)
    if record.text and not timed:
        _render(out, "text", record.text.splitlines())
    return 0


def _no_markdown(record: Record) -> str:
    if record.state.ended:
        return f"it is {record.state}"
    if record.state in (State.RECEIVED, State.STORED):
        return f"it is {record.state}, not described yet"
    return "its reader keeps no structure (see 'fileproc show' for its text)"
