#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine (or refresh an old set-up): system packages, then a
# virtualenv in .venv with the pinned Python packages. Safe to run again; quick when done.
#   scripts/setup.sh          CPU build of TensorFlow (runs anywhere)
#   scripts/setup.sh --gpu    adds the CUDA libraries TensorFlow's GPU build needs (Linux x86_64
#                             with an NVIDIA driver); the stages then use the GPU by themselves
#   scripts/setup.sh --tests  adds what the test suite needs beyond Python: Debian's chromium and
#                             the offline plots template (scripts/plots-offline.sh)
set -euo pipefail
gpu=false
tests=false
for arg in "$@"; do
  case "$arg" in
    --gpu) gpu=true ;;
    --tests) tests=true ;;
    *) echo "setup: unknown option $arg; usage: scripts/setup.sh [--gpu] [--tests]" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
need=()
command -v git >/dev/null || need+=(git)
command -v python3 >/dev/null || need+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
# Fashion-MNIST from Debian's own registry: a source the download stage uses when offline.
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
# The plots pages are checked in a real browser; Playwright drives this one (no browser download).
if $tests; then
  [ -x /usr/bin/chromium ] || need+=(chromium)
  command -v npm >/dev/null || need+=(npm)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt -c constraints.txt
if $gpu; then
  # The same TensorFlow with the CUDA and cuDNN wheels it was built against (pip's extra).
  .venv/bin/python -m pip install -q "tensorflow[and-cuda]==$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("tensorflow"))')" -c constraints.txt
  .venv/bin/python -c 'from pipeline import quiet_start; quiet_start.tensorflow(); import tensorflow as tf; g = tf.config.list_physical_devices("GPU"); print(f"setup: {len(g)} GPU(s) visible to TensorFlow" + ("" if g else ": check the NVIDIA driver (nvidia-smi)"))'
fi
if $tests && [ ! -f .cache/plots-template.html ]; then
  ./scripts/plots-offline.sh
fi
echo "setup: $(.venv/bin/python --version), $(.venv/bin/dvc --version | head -1) in .venv"
