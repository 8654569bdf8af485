#!/usr/bin/env bash
# Run the whole test suite (unit, corpus-scored, Dagster, end-to-end through the daemon):
# first everything that may share the machine, on FILEPROC_TEST_WORKERS processes (default 2),
# then the tests that stop a shared server, alone. Arguments run one plain pytest instead.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || scripts/setup.sh
if [ $# -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
status=0
.venv/bin/python -m pytest -n "${FILEPROC_TEST_WORKERS:-2}" --dist loadgroup -m "not serial" \
  || status=$?
.venv/bin/python -m pytest -m serial || status=$?
exit "$status"
