"""The records: ``records`` (filtered list), ``show`` (one whole), ``release``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import click
from rich.text import Text

from fileproc_dagster.app.cli.output import Output, SinceType, ago, one_line, quoted, styled_state
from fileproc_dagster.app.cli.setup import pass_output
from fileproc_dagster.app.cli.show import json_help, whole
from fileproc_dagster.describe.formats import kinds
from fileproc_dagster.errors import FileprocError
from fileproc_dagster.storage.records import Record, Records
from fileproc_dagster.storage.states import State

__all__ = ["records", "release"]


def open_records(out: Output) -> Records:
    out.settings.ensure_dirs()
    return Records(out.settings.db_url)


def list_records(out: Output, found: Sequence[Record], as_json: bool) -> None:
    """Records as JSON, a rich table on a terminal, or one plain line each in a pipe."""
    if as_json:
        out.json([whole(r, out.settings.quarantine_dir) for r in found], indent=2)
        return
    if not out.terminal:
        for r in found:
            summary = r.error if r.state.ended else r.description
            out.line(f"{r.state:<11} {r.type or '-':<11} {r.key:<55} {one_line(summary)}")
        return
    table = out.table("state", "type", "key", "changed", "description or reason")
    for r in found:
        summary = r.error if r.state.ended else r.description
        table.add_row(styled_state(r.state), r.type or "-", Text(r.key),
                      ago(r.updated_at), Text(one_line(summary, 90)))
    out.print(table)
    out.print(Text(f"{len(found)} record{'s' * (len(found) != 1)}", style="dim"))


@click.command()
@click.option("--state", "states", multiple=True, type=click.Choice([str(s) for s in State]),
              help="Only records in this state (repeat for several).")
@click.option("--type", "types", multiple=True, type=click.Choice(kinds()),
              help="Only records of this content type (repeat for several).")
@click.option("--since", type=SinceType(),
              help="Only records whose state changed since: a span (30m, 1h, 2d, 1w) or a "
                   "date (2026-05-01, UTC).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many records.")
@click.option("--json", "as_json", is_flag=True,
              help=json_help("A JSON array, one object per record"))
@pass_output
def records(out: Output, states: tuple[str, ...], types: tuple[str, ...],
            since: datetime | None, limit: int | None, as_json: bool) -> int:
    """List the records, newest first, with filters.

    Each with its state, type, key and description (or the reason it failed).

    \b
    Examples:
      fileproc records
      fileproc records --state failed --state quarantined --since 1d
      fileproc records --type audio --limit 5 --json | jq '.[].text'
    """
    found = open_records(out).files.all(limit, states=states, types=types,
                                        changed_since=since)
    list_records(out, found, as_json)
    return 0


@click.command()
@click.argument("keys", nargs=-1, required=True, metavar="KEY...")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per key and line.")
@pass_output
def release(out: Output, keys: tuple[str, ...], as_json: bool) -> int:
    """Put quarantined files back for another try.

    Once the cause is fixed (a limit raised, a language installed), each file goes back
    into the upload directory under its own name, never over another file, and its record
    is reopened; the daemon registers it again. The exit code is 1 when anything of a key
    could not be released.

    \b
    Examples:
      fileproc records --state quarantined
      fileproc release letter-4aad360a2c10
      fileproc release --json big-0123456789ab scan-ba9876543210
    """
    from fileproc_dagster.intake.release import release as release_key

    settings = out.settings
    store = open_records(out)
    problems = 0
    for key in keys:
        try:
            released = release_key(settings.upload_dir, settings.quarantine_dir, key, store)
        except (FileprocError, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            out.line(f"{key}: {reason}", err=True)
            problems += 1
            continue
        problems += len(released.kept) + (not released.moved)
        if as_json:
            out.json({"key": key, "state": released.state,
                      "moved": [str(p) for p in released.moved], "kept": released.kept})
            continue
        # Names are quoted: a hostile name cannot pass for another line of output.
        for path in released.moved:
            out.line(f"released {key} ({released.state}): {quoted(str(path))}")
        for name, why in released.kept.items():
            out.line(f"kept {key}: {quoted(name)}: {why}", err=True)
    return 1 if problems else 0


@click.command()
@click.option("--json", "as_json", is_flag=True, help="The formats as a JSON list.")
@pass_output
def formats(out: Output, as_json: bool) -> None:
    """The file formats fileproc reads (recognised from content, never from the name).

    \b
    Examples:
      fileproc formats
      fileproc formats --json | jq -r '.[].types'
    """
    from fileproc_dagster.describe.formats import rows

    table = rows()
    if as_json:
        out.json(table, indent=2)
        return
    view = out.table(*(column.title() for column in table[0]))
    for column in view.columns:
        column.overflow = "fold"
    for row in table:
        view.add_row(*(value.replace(", ", "\n") for value in row.values()))
    out.print(view)
