"""Each workaround of ``defs/_dagster_compat`` against the installed Dagster.

A failure here means a Dagster upgrade broke a workaround, or made it unnecessary: the
module's docstring says why each exists and what replaces it once Dagster has a public way.
"""

from collections.abc import Callable
from typing import Any

import dagster as dg
import pytest

from fileproc_dagster.defs import _dagster_compat as compat

PARTS = dg.DynamicPartitionsDefinition(name="compat_test")
KEYS = ["a", "b", "c"]
Adder = Callable[[dg.AssetExecutionContext, str, dict[str, Any]], None]


def _range_run(add: Adder, instance: dg.DagsterInstance) -> tuple[dg.ExecuteInProcessResult, int]:
    """One run over every key, adding per-key metadata with ``add``: the result, and how many
    times the instance read the partition keys while the metadata was added."""
    reads: list[str] = []
    added: list[int] = []

    @dg.asset(partitions_def=PARTS)
    def ranged(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        keys = context.partition_keys
        before = len(reads)
        for key in keys:
            add(context, key, {"key": key})
        added.append(len(reads) - before)
        return dg.MaterializeResult()

    original = dg.DagsterInstance.get_dynamic_partitions

    def counting(self: dg.DagsterInstance, partitions_def_name: str) -> Any:
        reads.append(partitions_def_name)
        return original(self, partitions_def_name)

    instance.add_dynamic_partitions(PARTS.name, KEYS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dg.DagsterInstance, "get_dynamic_partitions", counting)
        result = dg.materialize([ranged], instance=instance,
                                tags=compat.partition_range_tags(KEYS[0], KEYS[-1]))
    assert result.success
    return result, added[0]


def test_partition_metadata_goes_to_its_own_partition_without_reading_the_keys() -> None:
    with dg.instance_for_test() as instance:
        result, reads = _range_run(compat.add_partition_metadata, instance)
    materialized = result.asset_materializations_for_node("ranged")
    assert sorted((m.partition, m.metadata["key"].value) for m in materialized) == \
        [(key, key) for key in KEYS]
    assert reads == 0


def test_public_partition_metadata_still_reads_every_key_per_call() -> None:
    """Once this fails, ``context.add_asset_metadata(partition_key=...)`` is cheap: use it and
    drop ``add_partition_metadata``."""
    def public(context: dg.AssetExecutionContext, key: str, metadata: dict[str, Any]) -> None:
        context.add_asset_metadata(metadata, partition_key=key)

    with dg.instance_for_test() as instance:
        _, reads = _range_run(public, instance)
    assert reads == len(KEYS)


def test_range_tags_are_dagsters_and_make_one_run_over_the_range() -> None:
    from dagster._core.storage.tags import (ASSET_PARTITION_RANGE_END_TAG,
                                            ASSET_PARTITION_RANGE_START_TAG)

    assert (compat.RANGE_START, compat.RANGE_END) == (ASSET_PARTITION_RANGE_START_TAG,
                                                      ASSET_PARTITION_RANGE_END_TAG)
    tags = compat.partition_range_tags(KEYS[0], KEYS[-1])
    assert dg.RunRequest(tags=tags).partition_key_range == dg.PartitionKeyRange(KEYS[0],
                                                                                KEYS[-1])
    seen: list[list[str]] = []

    @dg.asset(partitions_def=PARTS)
    def ranged(context: dg.AssetExecutionContext) -> None:
        seen.append(list(context.partition_keys))

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(PARTS.name, KEYS)
        result = dg.materialize([ranged], instance=instance, tags=tags)
        run = instance.get_run_by_id(result.run_id)
    assert seen == [KEYS]
    assert run is not None and compat.partition_range(run.tags) == (KEYS[0], KEYS[-1])
    assert compat.partition_range({"dagster/partition": KEYS[0]}) is None
