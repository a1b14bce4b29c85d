"""viz.overlay_video's result stays small in a notebook: its text/plain repr leaves the bytes out."""

from __future__ import annotations

import numpy as np

from xmem_demo import viz


def test_overlay_video_repr_leaves_the_bytes_out():
    frames = [np.full((32, 48, 3), 40 * t, np.uint8) for t in range(5)]
    masks = [np.pad(np.ones((8, 8), np.uint8), ((4 + t, 20 - t), (10, 30))) for t in range(5)]
    video = viz.overlay_video(frames, masks, width=96, caption="five frames")
    assert len(video.mp4) > 500 and video.poster_jpeg
    text = repr(video)
    assert len(text) < 300, text
    assert "five frames" in text and "b'" not in text
    assert "<video" in video._repr_html_()
