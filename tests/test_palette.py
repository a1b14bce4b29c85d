"""The DAVIS palette, colorize and overlay."""

from __future__ import annotations

import numpy as np
import pytest

from xmem_demo.palette import PALETTE, colorize, davis_palette, label_edges, overlay


def test_palette_follows_the_bit_interleaving_rule():
    assert PALETTE.shape == (256, 3) and PALETTE.dtype == np.uint8
    expected = {
        0: (0, 0, 0), 1: (128, 0, 0), 2: (0, 128, 0), 3: (128, 128, 0), 4: (0, 0, 128),
        5: (128, 0, 128), 6: (0, 128, 128), 7: (128, 128, 128), 8: (64, 0, 0), 9: (192, 0, 0),
        255: (224, 224, 192),
    }
    for label, colour in expected.items():
        assert tuple(PALETTE[label].tolist()) == colour, label
    assert len({tuple(c) for c in PALETTE.tolist()}) == 256  # every label has its own colour
    np.testing.assert_array_equal(davis_palette(), PALETTE)


def test_colorize():
    mask = np.array([[0, 1], [2, 255]], np.uint8)
    out = colorize(mask)
    assert out.shape == (2, 2, 3) and out.dtype == np.uint8
    assert out[0, 0].tolist() == [0, 0, 0] and out[0, 1].tolist() == [128, 0, 0]
    assert out[1, 0].tolist() == [0, 128, 0] and out[1, 1].tolist() == [224, 224, 192]


def test_overlay_tints_objects_and_outlines_them():
    frame = np.full((10, 10, 3), 100, np.uint8)
    mask = np.zeros((10, 10), np.uint8)
    mask[3:7, 3:7] = 1
    out = overlay(frame, mask, alpha=0.5)
    assert out.dtype == np.uint8 and out.shape == frame.shape
    assert (out[0, 0] == 100).all() and (out[mask == 0] == 100).all()  # background untouched
    assert tuple(out[5, 5]) == (114, 50, 50)  # halfway to palette colour (128, 0, 0)
    assert tuple(out[3, 3]) == (128, 0, 0)  # the contour in the object's colour
    plain = overlay(frame, mask, alpha=0.5, contour=False)
    assert tuple(plain[3, 3]) == (114, 50, 50)


def test_overlay_contour_is_thin_and_separates_touching_objects():
    frame = np.zeros((40, 40, 3), np.uint8)
    mask = np.zeros((40, 40), np.uint8)
    mask[5:35, 5:20] = 1
    mask[5:35, 20:35] = 2
    out = overlay(frame, mask, alpha=0.0)
    contour = out.any(axis=2)
    assert not contour[20, 10] and not contour[20, 28]  # object interiors untinted at alpha 0
    assert contour[20, 5] and contour[20, 19] and contour[20, 20]  # outer edge and the shared border
    assert contour[20].sum() <= 8  # a thin line, not a fill
    assert tuple(out[20, 20]) == tuple(PALETTE[2])


def test_overlay_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match="differ"):
        overlay(np.zeros((10, 10, 3), np.uint8), np.zeros((5, 10), np.uint8))


def test_label_edges_are_object_pixels_next_to_another_label():
    """The one contour rule both overlays (DAVIS palette, the app's display) draw from."""
    mask = np.zeros((6, 7), np.uint8)
    mask[1:5, 1:4] = 1  # a 4 x 3 object
    mask[1:5, 4:6] = 2  # touching a 4 x 2 object on its right
    edges = label_edges(mask)
    assert edges.dtype == bool and not edges[mask == 0].any()  # background is never an edge
    inner = np.zeros_like(edges)
    inner[2:4, 2:3] = True  # object 1's pixels whose four neighbours are all 1
    np.testing.assert_array_equal(edges, (mask > 0) & ~inner)
    assert not label_edges(np.zeros((4, 4), np.uint8)).any()
