"""lessons.jpeg: a photo-heavy figure shown as an inline JPEG (the notebooks are committed with
their outputs; a JPEG of a photograph takes a fraction of the PNG's bytes)."""

from __future__ import annotations

import io

import numpy as np
import pytest

pytest.importorskip("IPython")

from xmem_demo import lessons, viz  # noqa: E402


def test_a_photo_figure_becomes_a_smaller_jpeg():
    from xmem_demo.resources import EXAMPLE_CLIP
    from xmem_demo.video import open_video

    with open_video(EXAMPLE_CLIP) as video:
        photo = video.get(0)  # the judo clip's first frame
    rows, cols = viz.feature_grid_shape(photo.shape[:2])
    fig = viz.grid_maps_figure(photo, {"map": np.add.outer(np.arange(rows), np.arange(cols)).astype(float)})
    image = lessons.jpeg(fig, quality=80)
    assert image.format == "jpeg" and image.data[:2] == b"\xff\xd8"  # the JPEG start-of-image marker
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=lessons.FIGURE_DPI, bbox_inches="tight")  # as the notebook's inline PNG
    assert len(image.data) < png.tell() / 2
    assert image._repr_jpeg_()  # what a notebook stores: image/jpeg
