"""What Dagster 1.13 (written against 1.13.27) offers no public API for, in one place.

The rest of the project uses only Dagster's public API: what ``dagster`` exports and marks
``@public``. Each workaround below says why no public API does the job and where upstream
stands. ``tests/test_dagster_compat.py`` checks every one against the installed Dagster and
fails when an upgrade breaks one (or makes it unnecessary); nothing here falls back quietly.

Per-partition metadata in a multi-partition step (``add_partition_metadata``)
    The public ``context.add_asset_metadata(metadata, partition_key=key)`` checks the key with
    ``get_partition_keys_in_range``, which reads every key of a dynamic partitions definition
    from the instance, on each call: 0.28 s per file and asset at 100k partitions, 85% of a
    50-file batch's CPU. ``MaterializeResult`` carries no partition, and an
    ``AssetMaterialization`` yielded per partition would come on top of the step's own. So
    this makes the metadata accumulator update that the public call ends with, without the
    check (the keys are the run's own). Upstream: metadata per partition of a multi-partition
    run is dagster-io/dagster#18123 (open); the check came with #26562; #14965 (for #14384)
    spared single-key ranges only. No upstream issue found for the cost per call.

Runs over a range of partitions, from a sensor (``partition_range_tags``, ``partition_range``)
    A single run over a contiguous range is requested with the system tags
    ``dagster/asset_partition_range_start`` and ``_end`` (#10441), as Dagster's own
    single-run backfills, UI and CLI do. ``RunRequest`` takes one ``partition_key``; its
    ``partition_key_range`` property, which reads these tags, is not public;
    ``RunRequest.for_asset_graph_subset`` is private and launches a backfill, not a run.
    Upstream: #34096 (open) proposes ``RunRequest.for_asset_partition_range``, a backfill too.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def add_partition_metadata(context: dg.AssetExecutionContext, partition_key: str,
                           metadata: Mapping[str, Any]) -> None:
    """Metadata for one partition of the run, shown on that partition's materialization only.

    ``partition_key`` must be one of ``context.partition_keys``: it is not checked, since the
    check is what costs.
    """
    step = context.op_execution_context._step_execution_context
    step._metadata_accumulator = step._metadata_accumulator.with_additional_asset_metadata(
        asset_key=context.asset_key, partition_key=partition_key, metadata=metadata)


def partition_range_tags(start: str, end: str) -> dict[str, str]:
    """Run tags that make one run cover the partitions from ``start`` to ``end``, both in."""
    return {RANGE_START: start, RANGE_END: end}


def partition_range(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """The first and last partition of a ranged run (or run request), from its tags."""
    if RANGE_START in tags and RANGE_END in tags:
        return tags[RANGE_START], tags[RANGE_END]
    return None
