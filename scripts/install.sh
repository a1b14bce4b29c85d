#!/usr/bin/env bash
# Install xmem-demo and everything its app, notebooks and tests need, from this repository's files.
# CPU torch first: an unpinned or newer torch would pull several GB of CUDA packages.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet torch==2.13.0
python3 -m pip install --quiet -e ".[app,notebooks,dev]"
# The SAM 2.1 click model (docs/click_models.md): the `sam2` package without its declared torch /
# torchvision requirements (its hydra-core and iopath come with the app extra above), built
# against the torch installed above, without its optional CUDA extension.
SAM2_BUILD_CUDA=0 python3 -m pip install --quiet --no-deps --no-build-isolation "sam2==1.1.0"
