"""Which files a deployment may retire: finished long ago, nothing about them still moving.

Retiring a file removes its partition from the orchestrator's set of partitions, so that run
creation and the UI's partition queries cost what the active files cost, not the whole
history. The record, the stored object, the search index and the notification ledger are
kept: retiring touches nothing here, this module only chooses.

A file is retirable when its record ended ``done`` or ``quarantined`` before the cutoff, no
upload of it still waits in the upload directory (a duplicate, a released file: those are in
flight) and no single-partition verdict run is still owed for it. ``failed`` files are never
retired: their upload is still in the upload directory and re-executing the partition is
how a person retries them. A quarantined file keeps its way back: a release puts it into the
upload directory again, and the sensor adds its partition anew.

Example::

    from datetime import UTC, datetime, timedelta
    keys = retirable(records, ["letter-5d41402abc4b"], datetime.now(UTC) - timedelta(days=30))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.schema import files, uploads
from fileproc_dagster.storage.states import State, UploadState

RETIRED_STATES = (State.DONE, State.QUARANTINED)
DEFAULT_AFTER_DAYS = 30.0
# Keys per statement: well under SQLite's bound-parameter limit.
CHUNK = 500
_NEVER = ("off", "never", "none", "false", "no")


@dataclass(frozen=True)
class Retention:
    """How long a finished file stays a partition; ``after_days=None`` keeps them all."""

    after_days: float | None = DEFAULT_AFTER_DAYS

    def cutoff(self, now: datetime) -> datetime | None:
        """Files that ended before this instant may be retired (None: none may)."""
        return None if self.after_days is None else now - timedelta(days=self.after_days)


def parse_after_days(text: str | None, default: float | None = DEFAULT_AFTER_DAYS
                     ) -> float | None:
    """Days from ``FILEPROC_RETIRE_AFTER_DAYS``: ``"30"``, ``"0.5"``, ``"0"`` (as soon as
    finished), or ``"off"``/``"never"`` (keep every partition); empty: ``default``."""
    if text is None or not text.strip():
        return default
    if text.strip().lower() in _NEVER:
        return None
    try:
        days = float(text)
    except ValueError:
        raise ValueError(f"FILEPROC_RETIRE_AFTER_DAYS must be a number of days or 'off', "
                         f"not {text!r}") from None
    if days < 0 or days != days:
        raise ValueError(f"FILEPROC_RETIRE_AFTER_DAYS cannot be negative: {text!r}")
    return days


def retirable(records: Records, keys: Sequence[str], before: datetime,
              limit: int | None = None) -> list[str]:
    """Of ``keys``, in their order, those whose files may be retired at ``before``.

    Keys without a record (registered, not recorded yet) are never retirable.
    """
    waiting = sa.exists().where(uploads.c.key == files.c.key,
                                uploads.c.state == UploadState.PENDING)
    chosen: set[str] = set()
    with records.db.transaction() as conn:
        for i in range(0, len(keys), CHUNK):
            chunk = list(keys[i:i + CHUNK])
            chosen.update(conn.execute(sa.select(files.c.key).where(
                files.c.key.in_(chunk), files.c.state.in_(RETIRED_STATES),
                files.c.updated_at < before, ~files.c.verdict_pending, ~waiting)).scalars())
            if limit is not None and len(chosen) >= limit:
                break
    found = [key for key in keys if key in chosen]
    return found[:limit] if limit is not None else found


def failed_keys(records: Records, keys: Sequence[str]) -> set[str]:
    """Of ``keys``, those whose record is ``failed`` (never retired; they may stay for long)."""
    found: set[str] = set()
    with records.db.transaction() as conn:
        for i in range(0, len(keys), CHUNK):
            found.update(conn.execute(sa.select(files.c.key).where(
                files.c.key.in_(list(keys[i:i + CHUNK])), files.c.state == State.FAILED)
            ).scalars())
    return found
