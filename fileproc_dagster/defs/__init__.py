"""Dagster objects only: partitions, assets, sensors, resources, jobs and retry policies."""
