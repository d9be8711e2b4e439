#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine (or refresh an old set-up): system packages, then a
# virtualenv in .venv with the pinned Python packages. Safe to run again; quick when done.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
need=()
command -v git >/dev/null || need+=(git)
command -v python3 >/dev/null || need+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
# Fashion-MNIST from Debian's own registry: a source the download stage uses when offline.
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt -c constraints.txt
echo "setup: $(.venv/bin/python --version), $(.venv/bin/dvc --version | head -1) in .venv"
