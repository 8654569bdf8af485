#!/usr/bin/env bash
# Set up, drop the sample files into the upload directory and start the Dagster UI and
# daemon on http://127.0.0.1:3000 with the upload sensor on. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export FILEPROC_HOME="${FILEPROC_HOME:-$PWD/.fileproc}"
.venv/bin/fileproc init
.venv/bin/fileproc upload samples/*
export PATH="$PWD/.venv/bin:$PATH"
exec fileproc dev --host "${FILEPROC_UI_HOST:-127.0.0.1}" --port "${FILEPROC_UI_PORT:-3000}"
