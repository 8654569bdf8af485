"""Releasing quarantined files for reprocessing, from the launchpad."""

from pathlib import Path

import dagster as dg
from pydantic import Field

from fileproc_dagster.intake.release import release

from .resources import FileprocResource


class ReleaseConfig(dg.Config):
    """Which quarantined files to give another chance."""

    keys: list[str] = Field(description="Partition keys of quarantined files to reprocess.")


@dg.op
def release_files(context: dg.OpExecutionContext, config: ReleaseConfig,
                  fileproc: FileprocResource) -> None:
    """Moves quarantined files back into the upload directory and reopens their records."""
    uploads = fileproc.uploads
    for key in config.keys:
        released = release(Path(uploads.upload_dir), Path(uploads.quarantine_dir),
                           key, fileproc.records.store())
        context.log.info(f"released {key}: {len(released.moved)} file(s) back to the upload "
                         f"directory, record {released.state}; kept: {released.kept or 'none'}")


@dg.job(description="Release quarantined files (by partition key) for reprocessing.",
        executor_def=dg.in_process_executor)
def release_quarantined() -> None:
    release_files()
