"""``fileproc status``: is the daemon alive, what waits, what happened lately (a health check)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from rich.text import Text

from fileproc_dagster.app.cli.output import Output, ago, counts_line, size, span
from fileproc_dagster.app.cli.setup import pass_output
from fileproc_dagster.app.status import DEFAULT_STALE_AFTER_S, Snapshot, take_snapshot
from fileproc_dagster.storage.states import State

ORDER = [str(s) for s in (State.DONE, State.QUARANTINED, State.FAILED, State.RECEIVED,
                          State.STORED, State.DESCRIBED)]


def report(snapshot: Snapshot) -> list[tuple[str, str, bool]]:
    """(label, value, healthy) lines of the report, in reading order."""
    now = datetime.now(UTC).timestamp()
    lines: list[tuple[str, str, bool]] = []
    if all(d.age_s is None for d in snapshot.daemons):
        why = "; ".join(snapshot.problems) or ("it never ran on this instance (start it "
                                               "with 'fileproc dev' or 'dagster-daemon run')")
        lines.append(("daemon", f"DOWN: {why}", False))
    else:
        verdict = "running" if snapshot.daemon_up else "DOWN"
        lines.append(("daemon", f"{verdict} ({snapshot.dagster_home})", snapshot.daemon_up))
        for d in snapshot.daemons:
            beat = f"last heartbeat {span(d.age_s)} ago" if d.age_s is not None else "never beat"
            errors = f", {len(d.errors)} error(s): {d.errors[0][:120]}" if d.errors else ""
            lines.append((f"  {d.daemon.lower()}", beat + errors, d.healthy))
    for sensor in snapshot.sensors:
        tick = (f"last tick {ago(sensor.timestamp, now)} ({sensor.status})"
                if sensor.timestamp else "never ticked")
        state = "" if sensor.running else "stopped, "
        error = f": {sensor.error.splitlines()[0][:120]}" if sensor.error else ""
        lines.append((f"sensor {sensor.name}", state + tick + error,
                      sensor.running and sensor.status != "failure"))
    lines += [
        ("uploads", f"{snapshot.uploads_waiting} waiting for the sensor, "
                    f"{snapshot.uploads_pending} registered and in progress", True),
        ("runs", f"{snapshot.runs['queued']} queued, {snapshot.runs['running']} running", True),
        ("last hour", counts_line(snapshot.last_hour, ORDER), True),
        ("last day", counts_line(snapshot.last_day, ORDER), True),
        ("notifications owed", str(snapshot.notifications_owed),
         snapshot.notifications_owed == 0),
        ("quarantine", f"{snapshot.quarantine.entries} file(s), "
                       f"{size(snapshot.quarantine.bytes)}", True),
    ]
    return lines


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object with every figure.")
@click.option("--stale-after", type=click.FloatRange(min=1), default=DEFAULT_STALE_AFTER_S,
              show_default=True, metavar="SECONDS",
              help="A daemon silent this long counts as down (it beats every 30 s).")
@pass_output
def status(out: Output, as_json: bool, stale_after: float) -> int:
    """Is the daemon alive; what waits, runs, failed or is owed.

    Reads the Dagster instance of DAGSTER_HOME (daemon heartbeats, sensor ticks, runs), the
    records database and the upload and quarantine directories. The exit code is 1 when the
    daemon is down, so it serves as a health check.

    \b
    Examples:
      fileproc status
      fileproc status --json | jq .runs
      fileproc status > /dev/null || systemctl restart fileproc-daemon
    """
    snapshot = take_snapshot(out.settings, stale_after)
    if as_json:
        out.json(snapshot.as_json(), indent=2)
        return 0 if snapshot.daemon_up else 1
    lines = report(snapshot)
    width = max(len(label) for label, _, _ in lines)
    for label, value, healthy in lines:
        if out.terminal:
            out.print(Text.assemble((f"{label:<{width}}  ", "bold"),
                                    (value, "" if healthy else "bold red")))
        else:
            out.line(f"{label:<{width}}  {value}")
    return 0 if snapshot.daemon_up else 1
