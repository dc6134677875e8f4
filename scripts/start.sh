#!/usr/bin/env bash
# Quick start: set up what is missing, then run a cluster with its data under ./data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/kyb server --data-dir "${KYB_DATA_DIR:-$PWD/data}" "$@"
