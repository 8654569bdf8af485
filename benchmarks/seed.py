"""History for the scale benchmark: N processed files, without processing N files.

What N processed files leave behind, written in bulk:

- N keys of the ``uploads`` dynamic partitions (``instance.add_dynamic_partitions``);
- N records in state ``done`` with their uploads (``deleted``) in the records database;
- one materialization of ``file_description`` per partition in the event log, written the
  way PostgreSQL's batch write does it (SQLite gets the same rows in one transaction per
  shard instead of one per event, ~100x faster to seed).

Not seeded: the runs and the other assets' events (the queries measured do not read them).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import dagster as dg

from benchmarks._dagster_internals import store_materializations
from fileproc_dagster.storage.records import Records
from fileproc_dagster.storage.schema import files as files_table
from fileproc_dagster.storage.schema import uploads as uploads_table

PARTITIONS = "uploads"
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
    """Done records and their deleted uploads, as the pipeline leaves them."""
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
            conn.execute(uploads_table.insert(), [{
                "key": key, "name": f"{key}.png", "size": 200_000, "mtime_ns": n,
                "state": "deleted", "duplicate": False, "received_at": now} for n, key in chunk])


def seed_materializations(instance: dg.DagsterInstance, keys: Sequence[str]) -> None:
    """One ``file_description`` materialization per key, in batches."""
    for i in range(0, len(keys), 1000):
        store_materializations(instance, DESCRIPTION_ASSET, keys[i:i + 1000])


def seed(instance: dg.DagsterInstance, db_url: str, start: int, stop: int) -> dict[str, float]:
    """Grow the history from ``start`` to ``stop`` files; seconds per part."""
    keys = synthetic_keys(start, stop)
    timings: dict[str, float] = {}
    for name, step in (("partitions", lambda: seed_partitions(instance, keys)),
                       ("records", lambda: seed_records(db_url, keys, start)),
                       ("materializations", lambda: seed_materializations(instance, keys))):
        began = time.perf_counter()
        step()  # type: ignore[no-untyped-call]
        timings[name] = time.perf_counter() - began
    return timings
