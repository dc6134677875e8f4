#!/usr/bin/env bash
# Sets up what is missing, then runs lint, types and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
ruff check src tests bench tools
mypy
exec pytest -q -p no:cacheprovider "$@"
