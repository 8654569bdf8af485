"""Each workaround of ``defs/_dagster_compat`` against the installed Dagster.

A failure here means a Dagster upgrade broke a workaround, or made it unnecessary: the
module's docstring says why each exists and what replaces it once Dagster has a public way.
"""

import os
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
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
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

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


def _started_run(instance: dg.DagsterInstance, **tags: str) -> dg.DagsterRun:
    return instance.add_run(dg.DagsterRun(job_name="compat_job", tags=tags,
                                          status=dg.DagsterRunStatus.STARTED))


def test_worker_pid_is_read_from_what_dagster_logs() -> None:
    @dg.asset
    def plain() -> None:
        pass

    with dg.instance_for_test() as instance:
        result = dg.materialize([plain], instance=instance)  # the worker is this process
        worker = compat.worker_pid(instance, result.run_id)
        assert worker is not None and worker[0] == os.getpid()
        stand_in = _started_run(instance)
        compat.report_worker_started(instance, stand_in, 4242)
        worker = compat.worker_pid(instance, stand_in.run_id)
        assert worker is not None and worker[0] == 4242
        assert compat.worker_pid(instance, _started_run(instance).run_id) is None


def test_default_run_launcher_names_its_code_server_host() -> None:
    """The launcher's hidden tag, as it writes it when it hands a run to a code server."""
    from dagster._core.remote_origin import (
        InProcessCodeLocationOrigin,
        RemoteJobOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.storage.tags import GRPC_INFO_TAG
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._grpc.types import StartRunResult
    from dagster._serdes import serialize_value

    class CodeServer:
        host, port, socket, use_ssl = "builder-7", 4266, None, False

        def start_run(self, _: object) -> str:
            return serialize_value(StartRunResult(success=True, message=None,
                                                  serializable_error_info=None))

    origin = RemoteJobOrigin(RemoteRepositoryOrigin(InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name="fileproc_dagster.definitions")), "repo"), "compat_job")
    assert compat.GRPC_INFO == GRPC_INFO_TAG
    with dg.instance_for_test() as instance:
        run = instance.add_run(dg.DagsterRun(job_name="compat_job", remote_job_origin=origin))
        dg.DefaultRunLauncher.launch_run_from_grpc_client(
            instance, run, CodeServer())  # type: ignore[arg-type]
        launched = instance.get_run_by_id(run.run_id)
        assert launched is not None and compat.code_server_host(launched) == "builder-7"
        assert compat.code_server_host(_started_run(instance)) is None


def test_runs_of_the_default_launcher_are_told_apart() -> None:
    with dg.instance_for_test() as instance:
        assert compat.uses_default_run_launcher(instance)
    with dg.instance_for_test(overrides={"run_launcher": {
            "module": "dagster._core.launcher.sync_in_memory_run_launcher",
            "class": "SyncInMemoryRunLauncher"}}) as instance:
        assert not compat.uses_default_run_launcher(instance)


def test_a_run_is_failed_from_outside() -> None:
    with dg.instance_for_test() as instance:
        run = _started_run(instance)
        compat.report_run_failed(instance, run, "the worker is gone")
        failed = instance.get_run_by_id(run.run_id)
        assert failed is not None and failed.status == dg.DagsterRunStatus.FAILURE
        [event] = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        assert event.dagster_event is not None
        assert event.dagster_event.message == "the worker is gone"



RETRIES = {"run_retries": {"enabled": True, "max_retries": 2,
                           "retry_on_asset_or_op_failure": False}}


def _decided_then_tagged(instance: dg.DagsterInstance, run: dg.DagsterRun,
                         reason: Any = None) -> tuple[bool, bool, str | None]:
    """(the decision before Dagster tags the failed run, after, the tag Dagster wrote)."""
    from dagster._core.events import JobFailureData

    data = JobFailureData(error=None, failure_reason=reason)
    failure = dg.DagsterEvent(dg.DagsterEventType.RUN_FAILURE.value, run.job_name,
                              event_specific_data=data)
    before = compat.run_will_retry(instance, run, failure)  # still STARTED, no tag
    compat.report_run_failed(instance, run, "failed", job_failure_data=data)
    failed = instance.get_run_by_id(run.run_id)
    assert failed is not None and failed.status == dg.DagsterRunStatus.FAILURE
    return before, compat.run_will_retry(instance, failed, failure), \
        failed.tags.get(compat.WILL_RETRY)


def test_whether_a_run_will_be_retried_is_decided_as_dagster_tags_it() -> None:
    from dagster._core.events import RunFailureReason
    from dagster._core.storage.tags import PARENT_RUN_ID_TAG, ROOT_RUN_ID_TAG

    with dg.instance_for_test(overrides=RETRIES) as instance:
        # A worker that died: retried, as the tag Dagster writes after the failure says.
        assert _decided_then_tagged(instance, _started_run(instance)) == (True, True, "true")
        # A step failure, with retry_on_asset_or_op_failure off: not retried.
        assert _decided_then_tagged(instance, _started_run(instance),
                                    RunFailureReason.STEP_FAILURE) == (False, False, "false")
        # The run's own max_retries tag rules over the instance's.
        assert _decided_then_tagged(instance, _started_run(
            instance, **{"dagster/max_retries": "0"})) == (False, False, "false")
        # Retries used up: the root and two retries make a group of three, over max_retries.
        root = parent = _started_run(instance)
        decided = []
        for number in (1, 2):  # as the daemon creates a retry (the group is read by tags)
            retry = instance.add_run(dg.DagsterRun(
                job_name="compat_job", status=dg.DagsterRunStatus.STARTED,
                root_run_id=root.run_id, parent_run_id=parent.run_id,
                tags={compat.RETRY_NUMBER: str(number), ROOT_RUN_ID_TAG: root.run_id,
                      PARENT_RUN_ID_TAG: parent.run_id}))
            parent = retry
            assert compat.retry_number(retry) == number
            decided.append(_decided_then_tagged(instance, retry))
        assert decided == [(True, True, "true"), (False, False, "false")]
        assert compat.retry_number(root) == 0
    with dg.instance_for_test() as instance:  # run retries off: no tag, never retried
        assert _decided_then_tagged(instance, _started_run(instance)) == (False, False, None)

def test_many_dynamic_partitions_are_deleted_in_few_statements_as_the_public_call_does(
) -> None:
    with dg.instance_for_test() as instance:
        keys = [f"k{i:04d}" for i in range(1200)]
        instance.add_dynamic_partitions(PARTS.name, keys)  # type: ignore[arg-type]
        instance.add_dynamic_partitions("other", keys[:3])
        compat.delete_dynamic_partitions(instance, str(PARTS.name), keys[:1100] + ["absent"])
        assert list(instance.get_dynamic_partitions(str(PARTS.name))) == keys[1100:]
        assert list(instance.get_dynamic_partitions("other")) == keys[:3]
        instance.delete_dynamic_partition(str(PARTS.name), keys[1100])  # the public one, alike
        assert list(instance.get_dynamic_partitions(str(PARTS.name))) == keys[1101:]


def test_single_run_assets_are_defined_without_the_beta_warning() -> None:
    from fileproc_dagster.definitions import ASSETS

    filters = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        @compat.single_run_asset(partitions_def=PARTS)
        def batched() -> None:
            pass

        assert not [w for w in caught if issubclass(w.category, dg.BetaWarning)]
    assert warnings.filters == filters  # nothing silenced beyond the decorator call
    assert batched.backfill_policy == dg.BackfillPolicy.single_run()
    assert {a.backfill_policy for a in ASSETS} == {dg.BackfillPolicy.single_run()}


def test_backfill_policy_is_still_beta() -> None:
    """Once this fails, ``dg.asset(backfill_policy=...)`` no longer warns: use it directly and
    drop ``single_run_asset``."""
    with pytest.warns(dg.BetaWarning, match=compat.BACKFILL_POLICY_WARNING):
        dg.asset(backfill_policy=dg.BackfillPolicy.single_run(), partitions_def=PARTS)


def test_benchmarks_still_reach_the_internals_they_need() -> None:
    """``benchmarks/_dagster_internals.py``: history written in bulk, the daemon's sensor loop."""
    import benchmarks.daemon_tick  # noqa: F401 - the daemon's loop, imported only
    from benchmarks._dagster_internals import store_materializations

    seeded = dg.AssetKey("seeded")
    with dg.instance_for_test() as instance:
        store_materializations(instance, seeded, KEYS)
        records = instance.fetch_materializations(seeded, limit=10).records
        assert sorted(r.partition_key or "" for r in records) == KEYS
        assert instance.get_latest_materialization_event(seeded) is not None
        # Seeded as a run's events, they go with the run (the retention benchmark).
        run = instance.add_run(dg.DagsterRun(job_name="process_file",
                                             status=dg.DagsterRunStatus.SUCCESS))
        store_materializations(instance, seeded, ["d"], run_id=run.run_id,
                               job_name="process_file")
        assert "d" in instance.get_materialized_partitions(seeded)
        instance.delete_run(run.run_id)
        assert instance.get_materialized_partitions(seeded) == set(KEYS)


def test_the_batched_sqlite_event_log_prototype_writes_what_dagster_would(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``benchmarks.event_cost``'s batched SQLite writes: a run's planned events and a step's
    materializations, one per partition, read back as Dagster's own writes would be."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    from benchmarks._dagster_internals import batched_sqlite_event_writes

    one_by_one: list[str] = []
    store_event = SqliteEventLogStorage.store_event

    def spy(self: SqliteEventLogStorage, event: dg.EventLogEntry) -> None:
        one_by_one.append(event.dagster_event_type or "")
        store_event(self, event)

    monkeypatch.setattr(SqliteEventLogStorage, "store_event", spy)

    @compat.single_run_asset(partitions_def=PARTS)
    def batched(context: dg.AssetExecutionContext) -> None:
        for key in context.partition_keys:
            compat.add_partition_metadata(context, key, {"key": key})

    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "50")
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance, \
            batched_sqlite_event_writes():
        instance.add_dynamic_partitions(str(PARTS.name), KEYS)
        result = dg.materialize([batched], instance=instance,
                                tags=compat.partition_range_tags(KEYS[0], KEYS[-1]))
        assert result.success
        records = instance.fetch_materializations(batched.key, limit=10).records
        assert sorted(r.partition_key or "" for r in records) == KEYS
        planned = instance.all_logs(result.run_id,
                                    of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
        assert len(planned) == len(KEYS)
    asset_events = {dg.DagsterEventType.ASSET_MATERIALIZATION,
                    dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED}
    assert one_by_one and not asset_events & set(one_by_one)  # all written in batches


def test_daemon_heartbeats_and_required_daemons_are_read_from_the_instance(
        tmp_path: Any) -> None:
    """Once this fails, the heartbeat reads moved: ``fileproc status`` needs the new way."""
    from dagster._daemon.types import DaemonHeartbeat
    from dagster._utils.error import SerializableErrorInfo

    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        assert "SENSOR" in compat.required_daemons(instance)
        assert compat.daemon_heartbeats(instance) == {}
        error = SerializableErrorInfo("tick failed\n", [], "Exception")
        instance.add_daemon_heartbeat(DaemonHeartbeat(1234.5, "SENSOR", "d1", [error]))
        assert compat.daemon_heartbeats(instance) == {
            "SENSOR": compat.Heartbeat("SENSOR", 1234.5, ("tick failed",))}
        assert compat.sensor_ticks(instance) == []  # no sensor has ticked here


def test_runs_are_counted_by_status_in_the_run_storage() -> None:
    with dg.instance_for_test() as instance:
        for status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.FAILURE,
                       dg.DagsterRunStatus.SUCCESS):
            instance.add_run(dg.DagsterRun(job_name="process_file", status=status))
        failed = dg.RunsFilter(job_name="process_file", statuses=[dg.DagsterRunStatus.FAILURE])
        assert compat.runs_count(instance, failed) == 2
        assert compat.runs_count(instance, dg.RunsFilter(job_name="other")) == 0


def test_run_creation_reads_the_keys_per_asset_and_check_and_the_prototype_once() -> None:
    """``benchmarks.run_creation``: a ranged run's creation reads every key of its dynamic
    partitions once per partitioned asset and check (planned per partition); the prototype
    reads them once per run and plans the same events."""
    from benchmarks._dagster_internals import instance_call_stats, one_key_listing_per_run

    check = compat.partition_check_spec("non_empty", "first", "A check per partition.", PARTS)

    @dg.asset(partitions_def=PARTS, check_specs=[check])
    def first() -> Iterator[dg.Output[None]]:
        """Not run: only planned."""
        yield from ()

    @dg.asset(partitions_def=PARTS, deps=[first])
    def second() -> None:
        """Not run: only planned."""

    job = dg.Definitions(assets=[first, second]).resolve_implicit_global_asset_job_def()

    def create(instance: dg.DagsterInstance, variant: AbstractContextManager[None]
               ) -> tuple[int, list[tuple[str, str | None]]]:
        calls: Counter[str] = Counter()
        with instance_call_stats(calls, {}), variant:  # counts the reads made
            run = instance.create_run_for_job(
                job, tags=compat.partition_range_tags(KEYS[0], KEYS[-1]))
        planned = [(str(e.asset_key.to_user_string() if e.asset_key else ""), e.partition)
                   for e in (r.get_dagster_event() for r in instance.all_logs(
                       run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED))]
        return calls["get_dynamic_partitions"], sorted(planned)

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(str(PARTS.name), KEYS)
        listings, planned = create(instance, nullcontext())
        assert listings == 3  # two assets and the check
        assert planned == sorted((a, k) for a in ("first", "second") for k in KEYS)
        assert create(instance, one_key_listing_per_run()) == (1, planned)
