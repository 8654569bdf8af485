"""The bounded extraction workers: one process per worker with its own time and memory
limits (worker), a run's files spread over them longest first (pool), process helpers."""
