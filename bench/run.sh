#!/usr/bin/env bash
# Benchmark the pipeline on the real data (half an hour or more); see bench/run.py.
#   bench/run.sh [--isa AVX2] [--keep DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >/dev/null
exec .venv/bin/python -m bench.run "$@"
