"""The job that processes files: every asset of a partition, in one process.

The in-process executor runs the steps one after another in the run worker (a spawned
interpreter per step would cost seconds per file); extraction still runs in its own bounded
worker process. Run retries (FROM_FAILURE) recover runs whose worker died.
"""

import dagster as dg

from .assets import GROUP

process_file = dg.define_asset_job(
    name="process_file",
    selection=dg.AssetSelection.groups(GROUP),
    executor_def=dg.in_process_executor,
    tags={"dagster/max_retries": "3", "dagster/retry_strategy": "FROM_FAILURE"},
    description="Store, record, describe and finalize uploaded files.",
)
