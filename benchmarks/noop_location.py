"""Benchmark-only code location: the product's definitions with no-op extractors.

``dagster-daemon run -m benchmarks.noop_location`` loads this module in the code server and
in every run worker; each rebinds the two names the pipeline calls for detection and
extraction before loading ``fileproc_dagster.definitions.defs``. The extraction worker gets
``benchmarks.noop.describe`` pickled by reference, so ``benchmarks`` must be importable there
too (the benchmark puts its root on PYTHONPATH).
"""

import fileproc_dagster.pipeline as _pipeline
from benchmarks import noop

_pipeline.detect = noop.detect  # type: ignore[attr-defined]
_pipeline.describe = noop.describe  # type: ignore[attr-defined]

from fileproc_dagster.definitions import defs  # noqa: E402

__all__ = ["defs"]
