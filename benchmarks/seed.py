"""History for the scale benchmark: N processed files, without processing N files.

What N processed files leave behind, written in bulk:

- N keys of the ``uploads`` dynamic partitions (``instance.add_dynamic_partitions``);
- N records in state ``done`` with their uploads (``deleted``) in the records database;
- one materialization of ``file_description`` per partition in the event log, written the
  way PostgreSQL's batch write does it (SQLite gets the same rows in one transaction per
  shard instead of one per event, ~100x faster to seed).

Not seeded: the other assets' events (the queries measured do not read them), and by default
the runs. With ``run_size`` (the retention benchmark), a finished ``process_file`` run per
``run_size`` files over their range, whose events the materializations are: what the
retirement pass deletes with the partitions.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import dagster as dg

from benchmarks._dagster_internals import store_materializations
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.schema import contents as contents_table
from fileproc_dagster.storage.schema import files as files_table
from fileproc_dagster.storage.schema import uploads as uploads_table

PARTITIONS = "uploads"
JOB = "process_file"
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
DESCRIPTION_ASSET = dg.AssetKey("file_description")
CHUNK = 5000
TEXT = ("Northgate Joinery Ltd, 14 Mill Lane. Quotation for fitted shelving, oak veneer, "
        "delivery and installation within ten working days of the order. ") * 2


def synthetic_keys(start: int, stop: int) -> list[str]:
    """Partition keys shaped like real ones: a sanitized stem plus 12 hex digits."""
    return [f"scan_{i:07d}-{_sha(i)[:12]}" for i in range(start, stop)]


def _sha(i: int) -> str:
    return hashlib.sha256(f"seed-{i}".encode()).hexdigest()


def seed_partitions(instance: dg.DagsterInstance, keys: Sequence[str]) -> None:
    for i in range(0, len(keys), CHUNK * 2):
        instance.add_dynamic_partitions(PARTITIONS, list(keys[i:i + CHUNK * 2]))


def seed_records(db_url: str, keys: Sequence[str], first_index: int) -> None:
    """Done records, their contents and deleted uploads, as the pipeline leaves them."""
    engine = Records(db_url).db.engine
    now = datetime.now(UTC)
    for i in range(0, len(keys), CHUNK):
        chunk = list(enumerate(keys[i:i + CHUNK], start=first_index + i))
        with engine.begin() as conn:
            conn.execute(files_table.insert(), [{
                "key": key, "uuid": str(uuid.uuid4()), "name": f"{key}.png", "type": "document",
                "mime": "image/png", "size": 200_000, "sha256": _sha(n),
                "location": f"objects/{_sha(n)[:2]}/{_sha(n)}", "state": "done",
                "description": "PNG page image, 1 page, 40 words", "text": TEXT,
                "details": {"pages": 1, "words": 40}, "error": None,
                "created_at": now, "updated_at": now} for n, key in chunk])
            conn.execute(contents_table.insert(), [{
                "key": key, "sha256": _sha(n), "name": f"{key}.png", "size": 200_000,
                "received_at": now} for n, key in chunk])
            conn.execute(uploads_table.insert(), [{
                "key": key, "name": f"{key}.png", "size": 200_000, "mtime_ns": n,
                "state": "deleted", "duplicate": False, "received_at": now} for n, key in chunk])


def seed_materializations(instance: dg.DagsterInstance, keys: Sequence[str]) -> None:
    """One ``file_description`` materialization per key, in batches."""
    for i in range(0, len(keys), 1000):
        store_materializations(instance, DESCRIPTION_ASSET, keys[i:i + 1000])


def seed_runs(instance: dg.DagsterInstance, keys: Sequence[str], run_size: int) -> None:
    """A successful ``process_file`` run over each ``run_size`` keys, which materialized them."""
    for i in range(0, len(keys), run_size):
        batch = keys[i:i + run_size]
        run = instance.add_run(dg.DagsterRun(
            job_name=JOB, run_id=str(uuid.uuid4()), status=dg.DagsterRunStatus.SUCCESS,
            tags={RANGE_START: batch[0], RANGE_END: batch[-1]}))
        for j in range(0, len(batch), 1000):
            store_materializations(instance, DESCRIPTION_ASSET, batch[j:j + 1000],
                                   run_id=run.run_id, job_name=JOB)


def seed(instance: dg.DagsterInstance, db_url: str, start: int, stop: int,
         run_size: int | None = None) -> dict[str, float]:
    """Grow the history from ``start`` to ``stop`` files; seconds per part."""
    keys = synthetic_keys(start, stop)
    timings: dict[str, float] = {}
    events: Callable[[], None] = (lambda: seed_runs(instance, keys, run_size)) if run_size \
        else (lambda: seed_materializations(instance, keys))
    for name, step in (("partitions", lambda: seed_partitions(instance, keys)),
                       ("records", lambda: seed_records(db_url, keys, start)),
                       ("materializations", events)):
        began = time.perf_counter()
        step()  # type: ignore[no-untyped-call]
        timings[name] = time.perf_counter() - began
    return timings
