"""Setting up and serving: ``init``, ``dev``, ``upload``, ``metrics``, ``completion``."""

from __future__ import annotations

import os
from pathlib import Path

import click

from fileproc_dagster.app.cli.output import Output, quoted
from fileproc_dagster.settings import Settings

pass_output = click.make_pass_decorator(Output)


def prepare(settings: Settings, production: bool = False) -> None:
    """Create the directories and the Dagster instance config (production's: PostgreSQL)."""
    from fileproc_dagster.app.instance import prepare_dagster_home

    settings.ensure_dirs()
    prepare_dagster_home(settings.dagster_home, production=production)
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)


@click.command()
@click.option("--production", is_flag=True,
              help="Keep Dagster's storage on PostgreSQL (deploy/dagster.yaml, DAGSTER_PG_URL).")
@pass_output
def init(out: Output, production: bool) -> int:
    """Create FILEPROC_HOME and the Dagster instance config.

    \b
    Examples:
      fileproc init
      DAGSTER_PG_URL=postgresql+psycopg2://dagster@db/dagster fileproc init --production
    """
    from fileproc_dagster.app.instance import production_problems

    settings = out.settings
    prepare(settings, production=production)
    for problem in production_problems(os.environ) if production else []:
        out.line(f"warning: {problem}", err=True)
    out.line(f"FILEPROC_HOME={settings.home}\nDAGSTER_HOME={settings.dagster_home}\n"
             f"uploads: {settings.upload_dir}")
    return 0


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address the UI listens on (loopback: only this machine).")
@click.option("--port", default=3000, show_default=True, type=click.IntRange(1, 65535),
              help="Port of the UI.")
@pass_output
def dev(out: Output, host: str, port: int) -> None:
    """Run the Dagster UI and the daemon with the upload sensor.

    \b
    Examples:
      fileproc dev                      # http://127.0.0.1:3000
      fileproc dev --port 3001
    """
    prepare(out.settings)
    command = ["dagster", "dev", "-m", "fileproc_dagster.definitions", "-h", host, "-p",
               str(port)]
    os.execvp(command[0], command)


def expand(paths: tuple[Path, ...]) -> list[Path]:
    """The files named, each directory replaced by the files directly in it (dotfiles and
    subdirectories left out, sorted by name). A directory that cannot be read raises."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            try:
                entries = sorted(os.scandir(path), key=lambda e: e.name)
            except OSError as exc:
                raise click.ClickException(
                    f"cannot read the directory {quoted(str(path))}: {exc.strerror}") from None
            found += [Path(e.path) for e in entries
                      if not e.name.startswith(".") and e.is_file()]
        else:
            found.append(path)
    return found


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path),
                metavar="PATH...")
@pass_output
def upload(out: Output, paths: tuple[Path, ...]) -> int:
    """Copy files into the upload directory, atomically.

    The daemon takes them from there.

    A directory stands for the files directly in it. Each copy is written under a temporary
    name and renamed, never over another file; its path is printed.

    \b
    Examples:
      fileproc upload ~/scans/*.pdf
      fileproc upload ~/inbox/
    """
    from fileproc_dagster.intake.moves import copy_into

    out.settings.ensure_dirs()
    failed = 0
    for path in expand(paths):
        try:
            out.line(str(copy_into(path, out.settings.upload_dir)))
        except OSError as exc:
            out.line(f"cannot upload {quoted(str(path))}: {exc.strerror or exc}", err=True)
            failed += 1
    return 1 if failed else 0


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to serve on (loopback: only this machine scrapes).")
@click.option("--port", default=9108, show_default=True, type=click.IntRange(0, 65535),
              help="Port to serve on (0: any free port).")
@pass_output
def metrics(out: Output, host: str, port: int) -> int:
    """Serve Prometheus metrics until SIGTERM or Ctrl-C.

    Every figure is computed on each scrape.

    \b
    Examples:
      fileproc metrics                          # http://127.0.0.1:9108/metrics
      fileproc metrics --host 0.0.0.0 --port 9200
    """
    from fileproc_dagster.app.metrics import serve

    prepare(out.settings)
    try:
        with serve(out.settings, host, port) as server:
            out.line(f"serving Prometheus metrics on {server.url}")
            server.wait()
    except OSError as exc:
        out.line(f"cannot serve metrics on {host}:{port}: {exc}", err=True)
        return 1
    return 0


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script (bash, zsh, fish).

    \b
    Examples:
      eval "$(fileproc completion bash)"                 # in ~/.bashrc
      eval "$(fileproc completion zsh)"                  # in ~/.zshrc
      fileproc completion fish > ~/.config/fish/completions/fileproc.fish
    """
    from click.shell_completion import get_completion_class

    from fileproc_dagster.app.cli import COMPLETE_VAR, PROG, cli

    completer = get_completion_class(shell)
    assert completer is not None  # every choice has one
    click.echo(completer(cli, {}, PROG, COMPLETE_VAR).source())
