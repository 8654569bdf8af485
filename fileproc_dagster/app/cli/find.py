"""Finding records: ``search`` (by words and meaning), ``similar``, ``reindex``."""

from __future__ import annotations

from collections.abc import Sequence

import click
from rich.text import Text

from fileproc_dagster.app.cli.browse import open_records
from fileproc_dagster.app.cli.output import Output, one_line, quoted, styled_state
from fileproc_dagster.app.cli.setup import pass_output
from fileproc_dagster.app.cli.show import json_help, whole
from fileproc_dagster.storage.finding import MODES, Hit
from fileproc_dagster.storage.records import Record

__all__ = ["reindex", "search", "similar"]


def list_hits(out: Output, found: Sequence[tuple[Record, Hit]], as_json: bool) -> None:
    """Hits as JSON (the record, its place, passage and score), a rich table, or plain lines."""
    if as_json:
        out.json([{**whole(r, out.settings.quarantine_dir), "place": hit.place,
                   "passage": hit.passage, "page": hit.page, "start_s": hit.start_s,
                   "end_s": hit.end_s, "score": hit.score} for r, hit in found], indent=2)
        return
    if not out.terminal:
        for r, hit in found:
            out.line(f"{r.state:<11} {r.type or '-':<11} {r.key:<55} {hit.place or '-'}: "
                     f"{one_line(hit.passage)}")
        return
    table = out.table("state", "type", "key", "place", "passage")
    for r, hit in found:
        table.add_row(styled_state(r.state), r.type or "-", Text(r.key), Text(hit.place or "-"),
                      Text(one_line(hit.passage, 80)))
    out.print(table)
    out.print(Text(f"{len(found)} record{'s' * (len(found) != 1)}", style="dim"))


_JSON = json_help("A JSON array of the records, best first") + \
    " Each also has place, passage, page, start_s, end_s and score."


@click.command()
@click.argument("query")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1),
              help="At most this many records.")
@click.option("--mode", default="hybrid", show_default=True, type=click.Choice(MODES),
              help="words: records holding every word; meaning: nearest in meaning; "
                   "hybrid: both orders fused.")
@click.option("--json", "as_json", is_flag=True, help=_JSON)
@pass_output
def search(out: Output, query: str, limit: int, mode: str, as_json: bool) -> int:
    """Search the records by words and by meaning, best match first.

    Names, descriptions, recognised text and transcripts are searched; each match shows the
    passage that matched and its place (page, slide, sheet, heading or time).

    \b
    Examples:
      fileproc search invoice
      fileproc search "the payment is late" --limit 5
      fileproc search "annual general meeting" --mode words
      fileproc search parcel --json | jq -r '.[0].key'
    """
    found = open_records(out).files.find(query, limit=limit, mode=mode)  # bad query: one line
    if not found and not as_json:
        out.line(f"no record matches {quoted(query)}", err=True)
        return 0
    list_hits(out, found, as_json)
    return 0


@click.command()
@click.argument("key")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(min=1),
              help="At most this many records.")
@click.option("--json", "as_json", is_flag=True, help=_JSON)
@pass_output
def similar(out: Output, key: str, limit: int, as_json: bool) -> int:
    """List the records nearest in meaning to one record (by key or uuid).

    \b
    Examples:
      fileproc similar invoice_25037-4aad360a2c10 --limit 5
    """
    store = open_records(out)
    record = store.files.lookup(key)
    if record is None:
        raise click.ClickException(f"no record with key or uuid {quoted(key)}")
    list_hits(out, store.files.similar(record.key, limit), as_json)
    return 0


@click.command()
@click.argument("keys", nargs=-1, metavar="[KEY]...")
@pass_output
def reindex(out: Output, keys: tuple[str, ...]) -> int:
    """Cut and embed the records' passages again (all records, or these keys).

    Writes keep the passages current; this is for records written before search by meaning
    existed, or after the model changed.

    \b
    Examples:
      fileproc reindex
      fileproc reindex letter_8781-4aad360a2c10
    """
    from fileproc_dagster.storage.passages import reindex as embed_again

    total = embed_again(open_records(out).db, list(keys) or None,
                        lambda done: out.line(f"{done} records embedded", err=True))
    out.line(f"reindexed {total} record{'s' * (total != 1)}")
    return 0
