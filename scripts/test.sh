#!/usr/bin/env bash
# Run the whole test suite (unit, corpus-scored, Dagster, end-to-end through the daemon).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
