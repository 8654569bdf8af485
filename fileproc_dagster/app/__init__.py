"""The Dagster-using conveniences: the `fileproc` command, in-process runs, the instance,
notebooks."""
