#!/usr/bin/env bash
# Install xmem-demo and everything its app, notebooks and tests need, from this repository's files.
# CPU torch first: an unpinned or newer torch would pull several GB of CUDA packages.
set -euo pipefail
cd "$(dirname "$0")/.."
# XMEM_INSTALL_QUIET=0 (scripts/setup_and_run.sh) lets pip show what it downloads and installs.
QUIET="--quiet"
if [ "${XMEM_INSTALL_QUIET:-1}" = "0" ]; then QUIET="--progress-bar=on"; fi
echo "== install 1/3: torch 2.13.0 (CPU build)"
python3 -m pip install $QUIET torch==2.13.0
echo "== install 2/3: xmem-demo and its app, notebook and test packages"
# app-core: the app extra without sam2 (step 3). decord: the faster video reader, where its wheels
# exist; elsewhere the extra installs nothing and PyAV reads the videos.
python3 -m pip install $QUIET -e ".[app-core,notebooks,dev,decord]"
echo "== install 3/3: sam2 (the SAM 2.1 click model's code; its weights: docs/click_models.md)"
# The SAM 2.1 click model (docs/click_models.md): the `sam2` package without its declared torch /
# torchvision requirements (its hydra-core and iopath come with app-core above), built against the
# torch installed above, without its optional CUDA extension. (`pip install xmem-demo[app]` installs
# sam2 with its requirements instead, where a torchvision for the installed torch exists.)
SAM2_BUILD_CUDA=0 python3 -m pip install $QUIET --no-deps --no-build-isolation "sam2==1.1.0"
