"""J and F on hand-built cases whose answers are known, and folder evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from xmem_demo.errors import MaskError
from xmem_demo.metrics import (
    _disk,
    boundary_f,
    boundary_map,
    evaluate_folders,
    format_table,
    jf,
    overall,
    region_similarity,
)
from xmem_demo.video import write_mask_sequence


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
    # Overlap 19 x 20 = 380 pixels; union 21 x 20 = 420 pixels.
    assert region_similarity(shifted, square()) == 380 / 420
    # The DAVIS tolerance here is ceil(0.008 * hypot(64, 64)) = ceil(0.72) = 1 pixel: the boundary still matches.
    assert boundary_f(shifted, square()) == 1.0
    # A two-pixel shift puts the left and right edges beyond the 1-pixel tolerance.
    assert boundary_f(square(c0=22), square()) < 1.0


def test_large_shift_and_disjoint():
    assert boundary_f(square(c0=26), square()) < 0.6
    assert region_similarity(square(r0=0, c0=0, size=10), square(r0=40, c0=40, size=10)) == 0.0
    assert boundary_f(square(r0=0, c0=0, size=10), square(r0=40, c0=40, size=10)) == 0.0


def test_tolerance_grows_with_the_image():
    # 500 x 500: ceil(0.008 * 707.1) = 6 pixels, so a 5-pixel shift keeps F = 1 but J drops.
    a, b = square(500, 500, 100, 100, 200), square(500, 500, 100, 105, 200)
    assert boundary_f(a, b) == 1.0 and region_similarity(a, b) == pytest.approx(195 / 205)
    assert boundary_f(a, square(500, 500, 100, 107, 200)) < 1.0
    assert boundary_f(a, b, tolerance=2) < 1.0  # tolerance >= 1 is a radius in pixels


def test_disk_matches_skimage_definition():
    np.testing.assert_array_equal(_disk(1), [[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    d2 = _disk(2)
    assert d2.shape == (5, 5) and d2.sum() == 13 and d2[0, 2] == 1 and d2[0, 1] == 0


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
    pred[0] = 0  # wrong first and last frames do not count (DAVIS convention: frames 1 .. T-2)
    pred[3] = 0
    assert jf(pred, gt)["J&F"] == 1.0
    full = jf(pred, gt, skip_first_last=False)
    assert full["J"] == 0.5 and full["F"] == 0.5 and full["J&F"] == 0.5
    pred[1] = 0  # a wrong middle frame does count
    assert jf(pred, gt)["J"] == 0.5
    # Two frames or fewer: nothing would be left, so every frame is scored.
    assert jf(pred[:2], gt[:2])["J"] == 0.0
    assert jf(gt[0], gt[0])["J&F"] == 1.0  # a single H x W frame


def test_jf_per_object_and_missing_object():
    gt = np.zeros((3, 64, 64), np.uint8)
    gt[:, 5:15, 5:15] = 1
    gt[:, 30:50, 30:50] = 2
    pred = gt.copy()
    pred[pred == 2] = 0
    r = jf(pred, gt)
    assert r["per_object"][1]["J&F"] == 1.0 and r["per_object"][2]["J&F"] == 0.0
    assert r["J&F"] == 0.5
    assert list(jf(pred, gt, object_ids=[1])["per_object"]) == [1]
    with pytest.raises(ValueError, match="differ in shape"):
        jf(pred[:, :32], gt)


def test_evaluate_folders_davis_layout(tmp_path):
    gt = np.zeros((4, 40, 60), np.uint8)
    gt[:, 10:30, 10:30] = 1
    gt[:, 5:15, 40:55] = 2
    pred = gt.copy()
    pred[1:3][pred[1:3] == 2] = 0  # object 2 lost in the scored frames of seq "b"
    write_mask_sequence(tmp_path / "gt" / "a", gt)
    write_mask_sequence(tmp_path / "gt" / "b", gt)
    write_mask_sequence(tmp_path / "pred" / "a", gt)
    write_mask_sequence(tmp_path / "pred" / "b", pred)
    results = evaluate_folders(tmp_path / "pred", tmp_path / "gt")
    assert list(results) == ["a", "b"]
    assert results["a"]["J&F"] == 1.0 and results["b"]["per_object"][2]["J"] == 0.0
    assert overall(results)["J"] == pytest.approx(0.75)  # mean over the four objects
    table = format_table(results)
    assert "J&F" in table and "0.750" in table and table.count("\n") >= 6

    (tmp_path / "pred" / "b" / "00003.png").unlink()
    with pytest.raises(MaskError, match="lacks predictions"):
        evaluate_folders(tmp_path / "pred", tmp_path / "gt")
    write_mask_sequence(tmp_path / "pred" / "b", [np.zeros((10, 10), np.uint8)], start_index=3)
    with pytest.raises(MaskError, match="00003.png' is 10x10 but the ground truth is 40x60"):
        evaluate_folders(tmp_path / "pred", tmp_path / "gt")
    with pytest.raises(MaskError, match="not found"):
        evaluate_folders(tmp_path / "nope", tmp_path / "gt")
