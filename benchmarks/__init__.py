"""Benchmarks of fileproc_dagster: throughput, orchestration overhead, latency, scale, memory.

Run with ``python -m benchmarks`` (see benchmarks/README.md). Not part of the test suite.
"""
