#!/usr/bin/env bash
# Install xmem-demo and everything its app, notebooks and tests need, from this repository's files.
# CPU torch first: an unpinned or newer torch would pull several GB of CUDA packages.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet torch==2.13.0
python3 -m pip install --quiet -e ".[app,notebooks,dev]"
