"""Runs added to a test instance in the statuses the daemon gives them, without a daemon.

A QUEUED run must carry the origin of the code location that will launch it (DagsterRun's
constructor insists, Dagster 1.13), and Dagster has no public way to build one outside a
workspace: the origin classes are internal. Only the tests use this; an upgrade that moves
them fails here, at the first test that queues a run.
"""

from __future__ import annotations

import dagster as dg
from dagster._core.remote_origin import (
    InProcessCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

MODULE = "fileproc_dagster.definitions"


def add_run(instance: dg.DagsterInstance, job_name: str, status: dg.DagsterRunStatus,
            tags: dict[str, str] | None = None) -> dg.DagsterRun:
    """A run of ``job_name`` in ``status`` (with ``tags``), as if the sensor had requested it."""
    origin = RemoteJobOrigin(RemoteRepositoryOrigin(InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name=MODULE)), "__repository__"), job_name)
    return instance.add_run(dg.DagsterRun(job_name=job_name, status=status, tags=tags or {},
                                          remote_job_origin=origin))
