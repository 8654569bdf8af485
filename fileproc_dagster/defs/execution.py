"""Where the steps of ``process_file`` run: in the run worker, or as Celery tasks.

The embedded default runs a run's steps one after another in its run worker. With
``FILEPROC_EXECUTOR=celery`` each step is a task on the broker (``FILEPROC_CELERY_BROKER``,
Redis or RabbitMQ), taken by Celery workers on any machine that shares the databases, the
object store and the file directories (uploads, quarantine, outbox); workers are started with
``dagster-celery worker start -A dagster_celery.app -y deploy/celery.yaml -q dagster,extraction``

Steps are routed by what they need: the extraction (OCR, transcription) goes to the
``extraction`` queue, so big machines can take only that; the short steps go to Celery's
``dagster`` queue. The ``extraction`` pool caps extractions across all workers at once
(``concurrency: pools:`` in deploy/dagster.yaml).

A worker runs one step at a time in its own process (the ``solo`` pool: a step starts its
extraction worker process and times itself with an alarm, neither of which a daemonic
pool process may do); start more workers for more at once.

A task is acknowledged when it ends, not when it starts: the step of a worker that is killed
stays on the broker and another worker takes it once the broker's visibility timeout has
passed, which must therefore be longer than the longest step (every step is idempotent, so
a repeated one does no harm).
"""

from typing import Any

import dagster as dg

from fileproc_dagster.settings import Execution

QUEUE_TAG = "dagster-celery/queue"  # dagster-celery's op tag naming a step's queue
LIGHT_QUEUE = "dagster"  # dagster-celery's default queue
EXTRACTION_QUEUE = "extraction"
EXTRACTION_POOL = "extraction"
EXTRACTION_TAGS = {QUEUE_TAG: EXTRACTION_QUEUE}

# The Celery app's settings, on the executor's side and (deploy/celery.yaml) the workers'.
CELERY_SETTINGS: dict[str, Any] = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "worker_prefetch_multiplier": 1,
    "worker_pool": "solo",
    "broker_connection_retry_on_startup": True,
    "broker_transport_options": {
        "visibility_timeout": 3600,
        "max_retries": 3, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5,
    },
}


def build_executor(execution: Execution) -> dg.ExecutorDefinition:
    """The executor of ``process_file``: in-process, or Celery with the broker named by the
    environment (Dagster keeps the variables' names, never the URLs)."""
    if execution.executor != "celery":
        return dg.in_process_executor
    from dagster_celery import celery_executor

    return celery_executor.configured({
        "broker": {"env": execution.broker_variable},
        "backend": {"env": execution.backend_variable},
        "config_source": CELERY_SETTINGS,
    })
