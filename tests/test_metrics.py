"""J and F on hand-built cases whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from xmem_demo.metrics import boundary_f, boundary_map, jf, region_similarity


def square(h=64, w=64, r0=20, c0=20, size=20):
    m = np.zeros((h, w), bool)
    m[r0 : r0 + size, c0 : c0 + size] = True
    return m


def test_identical_masks():
    assert region_similarity(square(), square()) == 1.0
    assert boundary_f(square(), square()) == 1.0


def test_empty_masks():
    empty = np.zeros((64, 64), bool)
    assert region_similarity(empty, empty) == 1.0 and boundary_f(empty, empty) == 1.0
    assert region_similarity(square(), empty) == 0.0 and boundary_f(square(), empty) == 0.0
    assert region_similarity(empty, square()) == 0.0 and boundary_f(empty, square()) == 0.0


def test_one_pixel_shift():
    shifted = square(c0=21)
    assert region_similarity(shifted, square()) == pytest.approx(19 * 20 / (21 * 20))
    # The DAVIS tolerance here is ceil(0.008 * hypot(64, 64)) = 1 pixel: the boundary still matches.
    assert boundary_f(shifted, square()) == 1.0


def test_large_shift_and_disjoint():
    assert boundary_f(square(c0=26), square()) < 0.6
    assert region_similarity(square(r0=0, c0=0, size=10), square(r0=40, c0=40, size=10)) == 0.0


def test_boundary_map_of_a_square():
    b = boundary_map(square(size=4, r0=2, c0=2, h=8, w=8))
    # Pixels that differ from their right, lower or lower-right neighbour: the outside
    # L on the top/left and the inside L on the bottom/right.
    expected = np.array([
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0, 1, 1, 1, 1, 1, 0, 0],
        [0, 1, 0, 0, 0, 1, 0, 0],
        [0, 1, 0, 0, 0, 1, 0, 0],
        [0, 1, 0, 0, 0, 1, 0, 0],
        [0, 1, 1, 1, 1, 1, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],
    ], bool)
    np.testing.assert_array_equal(b, expected)


def test_jf_skips_first_and_last_frame():
    gt = np.stack([square().astype(np.uint8)] * 4)
    pred = gt.copy()
    pred[0] = 0  # wrong first and last frames do not count (DAVIS convention)
    pred[3] = 0
    assert jf(pred, gt)["J&F"] == 1.0
    assert jf(pred, gt, skip_first_last=False)["J"] == 0.5


def test_jf_per_object_and_missing_object():
    gt = np.zeros((3, 64, 64), np.uint8)
    gt[:, 5:15, 5:15] = 1
    gt[:, 30:50, 30:50] = 2
    pred = gt.copy()
    pred[pred == 2] = 0
    r = jf(pred, gt)
    assert r["per_object"][1]["J&F"] == 1.0 and r["per_object"][2]["J&F"] == 0.0
    assert r["J&F"] == 0.5
