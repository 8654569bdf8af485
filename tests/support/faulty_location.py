"""A code location for the durability tests: the product's definitions with fault hooks.

``dagster-daemon run -m support.faulty_location`` with ``tests/`` on ``PYTHONPATH`` (see
``tests/daemon.py``): the code server and every run worker load it and arm the faults of
``FILEPROC_FAULTS`` (``support.faults``); the extraction worker, which inherits the path,
imports ``support.faults`` to run a stall.
"""

import dagster as dg

from fileproc_dagster.definitions import build_definitions
from fileproc_dagster.settings import Settings
from support import faults


@dg.definitions
def defs() -> dg.Definitions:
    """The product's definitions, with the faults armed in this process's environment."""
    return build_definitions(Settings.from_env(), hooks=faults.from_env())
