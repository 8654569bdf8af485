"""The job that processes files: every asset of a partition.

Its executor is the code location's (``execution.build_executor``): by default the steps run
one after another in the run worker (a spawned interpreter per step would cost seconds per
file), extraction in its own bounded worker process; with Celery, each step is a task.
Run retries (FROM_FAILURE) recover runs whose worker died.
"""

import dagster as dg

from .assets import GROUP

process_file = dg.define_asset_job(
    name="process_file",
    selection=dg.AssetSelection.groups(GROUP),
    tags={"dagster/max_retries": "3", "dagster/retry_strategy": "FROM_FAILURE"},
    description="Store, record, describe and finalize uploaded files.",
)
