"""``python -m benchmarks``: the one command that runs the benchmark suite."""

import sys

from benchmarks.run import main

sys.exit(main())
