"""``python -m fileproc_dagster.app.cli``: the ``fileproc`` command."""

import sys

from fileproc_dagster.app.cli import main

sys.exit(main())
