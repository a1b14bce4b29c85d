"""A SAM 2.1 hiera-tiny network with random weights, saved in the official checkpoint format.

The real weights cannot be downloaded here (no internet), so the click-model tests load this
file with the same code that loads `sam2.1_hiera_tiny.pt`: {"model": state_dict}, strict keys.
The encoder runs at 256 x 256 in tests (the official 1024 only costs time; benchmarks use it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TEST_IMAGE_SIZE = 256
_MADE: dict[str, Path] = {}  # one random checkpoint per test process, shared by the modules importing the fixture


def require_sam2() -> None:
    """Skip without the `sam2` package, except in CI (scripts/install.sh installs it there)."""
    from xmem_demo.clicks import sam2_installed

    if not sam2_installed():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("the sam2 package is missing in CI: scripts/install.sh must install it")
        pytest.skip("the sam2 package is not installed (bash scripts/install.sh)")


@pytest.fixture(scope="session")
def sam2_checkpoint(tmp_path_factory) -> Path:
    require_sam2()
    from xmem_demo.clicks.sam2_model import SAM2_MODELS, save_random_checkpoint

    if "tiny" not in _MADE or not _MADE["tiny"].exists():
        path = tmp_path_factory.mktemp("sam2") / "sam2.1_hiera_tiny.pt"
        _MADE["tiny"] = save_random_checkpoint(SAM2_MODELS["sam2.1-tiny"], path, seed=0)
    return _MADE["tiny"]


@pytest.fixture(scope="session")
def sam2_segmenter(sam2_checkpoint):
    from xmem_demo.clicks.sam2_model import SAM2_MODELS
    from xmem_demo.clicks.sam2_segmenter import Sam2Segmenter

    return Sam2Segmenter(SAM2_MODELS["sam2.1-tiny"], sam2_checkpoint, image_size=TEST_IMAGE_SIZE)
