#!/usr/bin/env bash
# Benchmark the pipeline on the real data (about 25 minutes); see bench/run.py.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >/dev/null
exec .venv/bin/python -m bench.run "$@"
