#!/usr/bin/env bash
# The whole pipeline on the real data: raw files -> trained models, metrics and plots.
# Without internet, point DATA_MIRROR at a mirror (this machine: ../shared/data, used when present).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export DVC_NO_ANALYTICS=1
# The stages run `python -m stages.X`: the venv's python, whatever the caller's PATH.
export PATH="$PWD/.venv/bin:$PATH"
if [ -z "${DATA_MIRROR:-}" ] && [ -d ../shared/data ]; then
  DATA_MIRROR="$(cd ../shared/data && pwd)"
  export DATA_MIRROR
fi
exec .venv/bin/dvc repro "$@"
