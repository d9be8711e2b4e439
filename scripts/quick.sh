#!/usr/bin/env bash
# A first run in minutes: the whole pipeline on a small configuration (configs/NAME.yaml,
# default quick) as a DVC experiment run in a temporary folder, so the workspace and its
# committed results stay as they are. Then `dvc exp show` and the plots page comparing the
# experiment with the committed results.
#   scripts/quick.sh [NAME]
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:-quick}"
config="configs/$name.yaml"
[ -f "$config" ] || { echo "quick: $config: no such file; the named sets are: $(ls configs | sed 's/\.yaml$//' | tr '\n' ' ')" >&2; exit 2; }
./scripts/setup.sh
export DVC_NO_ANALYTICS=1
export PATH="$PWD/.venv/bin:$PATH"
if [ -z "${DATA_MIRROR:-}" ] && [ -d ../shared/data ]; then
  DATA_MIRROR="$(cd ../shared/data && pwd)"
  export DATA_MIRROR
fi
mapfile -t sets < <(python -m pipeline.params --overrides "$config")
dvc exp remove "$name" >/dev/null 2>&1 || true
start=$SECONDS
# Up to the summary: exporting the models for serving is not part of a first look.
dvc exp run --temp -n "$name" "${sets[@]}" summarize
echo "quick: experiment $name ran in $((SECONDS - start)) s"
# The headline figures of each run, its training FLOPs and the CNN's precision (all columns: dvc exp show).
dvc exp show --no-pager --md --drop '.*' \
  --keep 'Experiment|.*test\.(accuracy|roc_auc_micro|mse_vs_pca)|.*train_flops|.*/cnn/metrics.json:precision'
dvc plots diff HEAD "$name" -o dvc_plots
echo "quick: open dvc_plots/index.html to see the plots of HEAD and $name (scripts/plots-offline.sh makes the page work offline)"
