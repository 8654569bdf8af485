"""A code location for the durability tests: the product's definitions with fault hooks.

``dagster-daemon run -m support.faulty_location`` with ``tests/`` on ``PYTHONPATH`` (see
``tests/daemon.py``): the code server, every run worker and every step arm the faults of
``FILEPROC_FAULTS`` (``support.faults``) in their own environment, through the ``fileproc``
resource of ``support.resources``; the extraction worker, which inherits the path, imports
``support.faults`` to run a stall.
"""

import dagster as dg

from fileproc_dagster.definitions import build_definitions
from fileproc_dagster.settings import Settings
from support.resources import FROM_ENV, with_hooks


@dg.definitions
def defs() -> dg.Definitions:
    """The product's definitions, with the faults armed in this process's environment."""
    return with_hooks(build_definitions(Settings.from_env()), FROM_ENV)
