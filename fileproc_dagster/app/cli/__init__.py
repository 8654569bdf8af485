"""The ``fileproc`` command (Click): run the UI, drop and process files, browse the records,
check on the daemon.

Each command lives in the module of its concern (``setup``, ``process``, ``browse``,
``health``); ``main`` turns every expected error into one line on standard error, with an
exit code: 1 for a failure, 2 for a bad argument, 130 for Ctrl-C.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click
import sqlalchemy as sa

from fileproc_dagster.app.cli.output import Output
from fileproc_dagster.errors import FileprocError
from fileproc_dagster.secrets import hide_userinfo
from fileproc_dagster.settings import Settings

PROG = "fileproc"
COMPLETE_VAR = "_FILEPROC_COMPLETE"


class Failed(click.ClickException):
    """An expected failure of a command, said in one line naming the command."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    if isinstance(exc, sa.exc.OperationalError):
        return f"cannot reach the records database: {exc.orig}"
    return exc.format_message() if isinstance(exc, click.ClickException) else str(exc)


class Commands(click.Group):
    """A group listing its commands in the order they were added (the order of a session),
    whose commands' expected failures become ``Failed``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.UsageError:
            raise
        except (click.ClickException, FileprocError, OSError, sa.exc.OperationalError) as exc:
            where = " ".join(filter(None, (PROG, ctx.invoked_subcommand)))
            raise Failed(where, hide_userinfo(_reason(exc))) from exc


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"],
                                             "max_content_width": 100})
@click.version_option(package_name="fileproc_dagster", prog_name=PROG)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Turn files dropped into a directory into processed, searchable records.

    Configuration comes from FILEPROC_* variables (FILEPROC_HOME, default ./.fileproc).
    Output is rich on a terminal, plain text in a pipe; --json where offered.

    \b
    Examples:
      fileproc init && fileproc dev        # the UI and the daemon on 127.0.0.1:3000
      fileproc process ~/scans/*.pdf       # process now, with a progress bar
      fileproc records --state failed --since 1d
      fileproc status || echo "daemon down"
    """
    try:
        settings = Settings.from_env()
    except ValueError as exc:  # a FILEPROC_* variable that does not parse
        raise click.ClickException(f"bad configuration: {exc}") from None
    ctx.obj = Output(settings)


def _register() -> None:
    from fileproc_dagster.app.cli import browse, find, health, process, setup, show

    for command in (setup.init, setup.dev, setup.upload, process.process, browse.records,
                    show.show, find.search, find.similar, find.reindex, browse.release,
                    health.status, setup.metrics, browse.formats, setup.completion):
        cli.add_command(command)


_register()


def _error(ctx: click.Context | None, message: str) -> None:
    where = ctx.command_path if ctx is not None else PROG
    click.echo(f"{where}: {message}", err=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``fileproc`` with ``argv`` (the process's arguments when None); the exit code."""
    try:
        result = cli.main(args=list(argv) if argv is not None else None, prog_name=PROG,
                          complete_var=COMPLETE_VAR, standalone_mode=False)
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        _error(exc.ctx, f"{exc.format_message()}{hint}")
        return exc.exit_code
    except Failed as exc:
        click.echo(f"{exc.where}: {exc.format_message()}", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        _error(None, exc.format_message())
        return exc.exit_code
    except (click.Abort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
