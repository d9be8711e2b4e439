#!/usr/bin/env bash
# The test suite: lint (ruff, settings in pyproject.toml), unit tests on tiny fixtures, then
# the real `dvc repro` / `dvc exp run` on a tiny configuration in a temporary git repository,
# reading the real data from the mirror, and the plots pages opened in headless Chromium.
# Extra arguments go to pytest (e.g. `-m "not e2e"` for the quick tests only).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --tests
export DVC_NO_ANALYTICS=1
export DATA_MIRROR="${DATA_MIRROR:-$(cd .. && pwd)/shared/data}"
.venv/bin/ruff check --quiet . && .venv/bin/ruff format --check --quiet . || {
  echo "test: ruff found lint or formatting problems (above); fix them, e.g. .venv/bin/ruff format ." >&2
  exit 1
}
exec .venv/bin/python -m pytest -q "$@"
