"""Dagster-using conveniences: the `fileproc` command, in-process runs, instance, notebooks."""
