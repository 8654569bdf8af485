"""``fileproc process``: files processed now, in this process, with a progress bar."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from fileproc_dagster.app.cli.output import Output, counts_line, one_line, span, styled_state
from fileproc_dagster.app.cli.setup import expand, pass_output, prepare

if TYPE_CHECKING:
    from fileproc_dagster.app.runner import Outcome

# Dagster's console logger of the in-process runs: errors are summarised per file instead,
# and every event is still in the run's event log (the UI shows it).
QUIET: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
ORDER = ("done", "quarantined", "failed", "received", "stored", "described")


def _console_for_progress(out: Output) -> Console | None:
    """Where the bar goes: standard output on a terminal, else standard error on one."""
    if out.terminal:
        return out.console
    return out.errors if out.errors.is_terminal else None


def _state(outcome: Outcome) -> str:
    return str(outcome.record.state) if outcome.record is not None else "failed"


def _styled(outcome: Outcome) -> Text:
    """The summary line with its state coloured (the rest as plain text, never markup)."""
    line = outcome.summary()
    state = _state(outcome)
    return Text.assemble(styled_state(line[:len(state)]), line[len(state):])


@contextmanager
def _progress(console: Console | None, total: int) -> Iterator[Progress]:
    columns = (SpinnerColumn(), TextColumn("[bold]processing"), BarColumn(),
               MofNCompleteColumn(), TextColumn("files"), TimeElapsedColumn(),
               TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[current]}"))
    with Progress(*columns, console=console, disable=console is None, transient=True,
                  refresh_per_second=4) as progress:
        yield progress


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path),
                metavar="PATH...")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per file and line (the record, path, duplicate, error).")
@click.option("-v", "--verbose", is_flag=True, help="Show Dagster's own log of each run.")
@pass_output
def process(out: Output, paths: tuple[Path, ...], as_json: bool, verbose: bool) -> int:
    """Process files now, here, with a progress bar.

    No daemon is needed: each file is copied into the upload directory and its partition
    materialized with the same assets the daemon runs; the runs show in the UI. Your own
    files are never changed.
    A directory stands for the files directly in it. One line per file at the end; the exit
    code is 1 when any file failed or was quarantined.

    \b
    Examples:
      fileproc process scan.png memo.pdf
      fileproc process ~/inbox/ --json | jq -r '.state + " " + .key'
      fileproc process call.wav --verbose
    """
    from fileproc_dagster.app.runner import process_paths

    files = expand(paths)
    prepare(out.settings)
    console = _console_for_progress(out)
    started = time.monotonic()
    outcomes: list[Outcome] = []
    with _progress(console, len(files)) as progress:
        task = progress.add_task("processing", total=len(files), current="")
        stream = process_paths(out.settings, files, run_config=None if verbose else QUIET)
        for path in files:
            progress.update(task, current=one_line(path.name, 40))
            outcome = next(stream)
            outcomes.append(outcome)
            progress.advance(task)
            if as_json:
                out.json(outcome.as_json())
            elif not out.terminal:
                out.line(outcome.summary())  # in a pipe, each line as soon as it is known
    if as_json:
        return _exit_code(outcomes)
    if out.terminal:
        for outcome in outcomes:
            out.print(_styled(outcome))
    states = Counter(_state(o) for o in outcomes)
    out.line(f"{len(outcomes)} file{'s' * (len(outcomes) != 1)} in "
             f"{span(time.monotonic() - started)}: {counts_line(dict(states), ORDER)}",
             err=not out.terminal)
    return _exit_code(outcomes)


def _exit_code(outcomes: list[Outcome]) -> int:
    return 1 if any(_state(o) != "done" for o in outcomes) else 0
