"""Remake the demo's sample files with the tests' generator: python scripts/make_samples.py [DIR]

DIR defaults to samples/ at the repository root (the files scripts/run.sh uploads).
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.samples import make_all  # noqa: E402

if __name__ == "__main__":
    for made in make_all(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "samples"):
        print(made, made.stat().st_size)
