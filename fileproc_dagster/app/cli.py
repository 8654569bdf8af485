"""The ``fileproc`` command: run the UI, drop files, process in-process, list records."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from fileproc_dagster.settings import Settings


def _prepare(settings: Settings, production: bool = False) -> None:
    """Create the directories and the Dagster instance config (production's: PostgreSQL)."""
    from fileproc_dagster.app.instance import prepare_dagster_home

    settings.ensure_dirs()
    prepare_dagster_home(settings.dagster_home, production=production)
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)


def cmd_init(settings: Settings, args: argparse.Namespace) -> int:
    from fileproc_dagster.app.instance import production_problems
    from fileproc_dagster.errors import ConfigurationError

    try:
        _prepare(settings, production=args.production)
    except ConfigurationError as exc:
        print(f"fileproc init: {exc}", file=sys.stderr)
        return 1
    for problem in production_problems(os.environ) if args.production else []:
        print(f"warning: {problem}", file=sys.stderr)
    print(f"FILEPROC_HOME={settings.home}\nDAGSTER_HOME={settings.dagster_home}\n"
          f"uploads: {settings.upload_dir}")
    return 0


def cmd_dev(settings: Settings, args: argparse.Namespace) -> int:
    """Start the Dagster UI and daemon (``dagster dev``) on the embedded default."""
    _prepare(settings)
    command = ["dagster", "dev", "-m", "fileproc_dagster.definitions",
               "-h", args.host, "-p", str(args.port)]
    os.execvp(command[0], command)


def cmd_upload(settings: Settings, args: argparse.Namespace) -> int:
    from fileproc_dagster.intake.moves import copy_into

    for path in args.paths:
        print(copy_into(Path(path), settings.upload_dir))
    return 0


def cmd_process(settings: Settings, args: argparse.Namespace) -> int:
    from fileproc_dagster.app.runner import process_paths
    from fileproc_dagster.storage.states import State

    _prepare(settings)
    failed = 0
    for outcome in process_paths(settings, [Path(p) for p in args.paths]):
        failed += outcome.record is None or outcome.record.state is not State.DONE
        if args.json:
            print(json.dumps(outcome.as_json(), ensure_ascii=False, default=str))
        else:
            print(outcome.summary())
    return 1 if failed else 0


def cmd_records(settings: Settings, args: argparse.Namespace) -> int:
    from fileproc_dagster.storage.records import Records

    settings.ensure_dirs()
    records = Records(settings.db_url).files.all(args.limit)
    if args.json:
        print(json.dumps([r.as_json() for r in records], ensure_ascii=False, default=str,
                         indent=2))
        return 0
    for r in records:
        summary = r.error if r.state.ended else r.description
        print(f"{r.state:<11} {r.type or '-':<11} {r.key:<55} {summary or ''}")
    return 0


def _quoted(text: str) -> str:
    """A name in quotes, control characters escaped and undecodable bytes shown as U+FFFD."""
    return json.dumps(os.fsencode(text).decode("utf-8", "replace"), ensure_ascii=False)


def cmd_release(settings: Settings, args: argparse.Namespace) -> int:
    """Move quarantined files back into the upload directory and reopen their records."""
    from fileproc_dagster.errors import FileprocError
    from fileproc_dagster.intake.release import release
    from fileproc_dagster.storage.records import Records

    settings.ensure_dirs()
    records = Records(settings.db_url)
    problems = 0
    for key in args.keys:
        try:
            released = release(settings.upload_dir, settings.quarantine_dir, key, records)
        except FileprocError as exc:
            print(f"{key}: {exc}", file=sys.stderr)
            problems += 1
            continue
        problems += len(released.kept) + (not released.moved)
        if args.json:
            print(json.dumps({"key": key, "state": released.state,
                              "moved": [str(p) for p in released.moved],
                              "kept": released.kept}))
            continue
        # Names are quoted: a hostile name cannot pass for another line of output.
        for path in released.moved:
            print(f"released {key} ({released.state}): {_quoted(str(path))}")
        for name, why in released.kept.items():
            print(f"kept {key}: {_quoted(name)}: {why}", file=sys.stderr)
    return 1 if problems else 0


def cmd_metrics(settings: Settings, args: argparse.Namespace) -> int:
    """Serve Prometheus metrics, computed on each scrape, until SIGTERM or Ctrl-C."""
    from fileproc_dagster.app.metrics import serve

    _prepare(settings)
    try:
        with serve(settings, args.host, args.port) as server:
            print(f"serving Prometheus metrics on {server.url}", flush=True)
            server.wait()
    except OSError as exc:
        print(f"cannot serve metrics on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fileproc", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="create FILEPROC_HOME and the Dagster instance config")
    init.add_argument("--production", action="store_true",
                      help="Dagster's storage on PostgreSQL (deploy/dagster.yaml, DAGSTER_PG_URL)")
    dev = sub.add_parser("dev", help="run the Dagster UI and daemon with the upload sensor")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=3000)
    upload = sub.add_parser("upload", help="copy files into the upload directory atomically")
    upload.add_argument("paths", nargs="+")
    process = sub.add_parser("process", help="process files now, in this process")
    process.add_argument("--json", action="store_true", help="one JSON object per line")
    process.add_argument("paths", nargs="+")
    records = sub.add_parser("records", help="list the records, newest first")
    records.add_argument("--json", action="store_true")
    records.add_argument("--limit", type=int, default=None)
    release = sub.add_parser(
        "release", help="move quarantined files back for another try (by partition key)")
    release.add_argument("--json", action="store_true", help="one JSON object per key")
    release.add_argument("keys", nargs="+", metavar="KEY")
    metrics = sub.add_parser("metrics", help="serve Prometheus metrics (on loopback by default)")
    metrics.add_argument("--host", default="127.0.0.1")
    metrics.add_argument("--port", type=int, default=9108)
    return parser


COMMANDS = {"init": cmd_init, "dev": cmd_dev, "upload": cmd_upload, "process": cmd_process,
            "records": cmd_records, "release": cmd_release, "metrics": cmd_metrics}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command](Settings.from_env(), args)


if __name__ == "__main__":
    sys.exit(main())
