"""The teaching network of notebook 01 ships inside the package (so a pip install from git has it),
is labelled as a teaching network, and loads with torch.load(..., weights_only=True); and
lessons.mask_on_grid, which the notebook uses to put masks on the memory grid."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import numpy as np
import pytest
import torch

from xmem_demo import lessons
from xmem_demo.geometry import FrameGeometry
from xmem_demo.resources import MODEL_CARD, TEACHING_WEIGHTS

REPO = Path(__file__).resolve().parents[1]


def test_it_is_package_data_and_the_old_name_still_works():
    assert TEACHING_WEIGHTS.is_file() and TEACHING_WEIGHTS.parent == MODEL_CARD.parent
    assert lessons.TEACHING_NETWORK == lessons.NEXT_MINI == TEACHING_WEIGHTS
    assert "training_runs" not in TEACHING_WEIGHTS.parts  # not a checkout-only path
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    inside = TEACHING_WEIGHTS.relative_to(REPO / "xmem_demo").as_posix()
    assert any(fnmatch.fnmatch(inside, pattern) for pattern in package_data["xmem_demo"]), inside


def test_it_loads_weights_only_and_says_what_it_is():
    raw = torch.load(TEACHING_WEIGHTS, map_location="cpu", weights_only=True)
    assert raw["format"] == "xmem-demo"
    assert "TEACHING NETWORK" in raw["model_card"] and "NOT the official XMem" in raw["model_card"]
    assert "not for segmentation" in raw["model_card"]
    from xmem_demo.checkpoint import load_model_with_info

    model, info = load_model_with_info(TEACHING_WEIGHTS)
    assert not info.official and "TEACHING NETWORK" in info.model_card
    assert sum(p.numel() for p in model.parameters()) < 600_000  # the narrow MINI_CONFIG network
    card = MODEL_CARD.read_text()
    assert "xmem-next-mini.pth" in card and "not for segmentation" in card.lower()


def test_mask_on_grid_counts_each_cell_of_the_padded_grid():
    geometry = FrameGeometry.for_frame((40, 56))  # padded to 48 x 64: 4 rows on top, 4 columns left
    assert geometry.pad == (4, 4, 4, 4)
    mask = np.zeros((40, 56), np.uint8)
    mask[12:28, 12:28] = 3  # exactly grid cell (1, 1) of the padded frame
    shares = lessons.mask_on_grid(mask, geometry)
    assert shares.shape == geometry.grid_hw == (3, 4)
    assert shares[1, 1] == 1.0 and shares.sum() == 1.0
    full = lessons.mask_on_grid(np.ones((40, 56)), geometry)
    assert full[0, 0] == pytest.approx(12 * 12 / 256)  # the padding is not the object
    resized = FrameGeometry.for_frame((80, 112), working_size=40)  # frames resized by half
    big = np.kron(mask, np.ones((2, 2), np.uint8))
    np.testing.assert_allclose(lessons.mask_on_grid(big, resized), shares, atol=1e-6)
    with pytest.raises(ValueError, match=r"mask of shape \(10, 10\); this geometry's frames are \(40, 56\)"):
        lessons.mask_on_grid(np.zeros((10, 10)), geometry)
