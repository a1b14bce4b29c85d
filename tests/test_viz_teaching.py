"""The teaching figures every notebook shares: the architecture diagram and the overlay video."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from xmem_demo import viz
from xmem_demo.viz.diagram import PARTS, _BOXES


def _boxes(fig):
    ax = fig.axes[0]
    titles = [t.get_text() for t in ax.texts if t.get_fontweight() == "bold"]
    return dict(zip(titles, [p for p in ax.patches if isinstance(p, FancyBboxPatch)]))


def test_architecture_figure_names_every_part_and_highlights_only_the_chosen_one():
    full = viz.architecture_figure()
    boxes = _boxes(full)
    assert len(boxes) == len(_BOXES)
    assert {"sensory memory $h$", "working memory", "long-term memory", "decoder", "value encoder"} <= set(boxes)
    text = " ".join(t.get_text() for t in full.axes[0].texts)
    for symbol in ("$T_{min}$", "$T_{max}$", "$L_{max}$", "$P$", "$r$", "$C^k$", "$C^v$", "$C^h$", "$s$", "$e$"):
        assert symbol in text, symbol
    assert sum(isinstance(p, FancyArrowPatch) for p in full.axes[0].patches) >= 10

    working = _boxes(viz.architecture_figure("working"))
    grey = to_rgba("#eeeeee")
    assert working["working memory"].get_facecolor() != grey
    assert working["long-term memory"].get_facecolor() == grey
    assert working["decoder"].get_facecolor() == grey
    assert working["frame $I_t$"].get_facecolor() != grey  # input and output always shown
    two = _boxes(viz.architecture_figure(["working", "long_term"]))
    assert two["long-term memory"].get_facecolor() != grey and two["sensory memory $h$"].get_facecolor() == grey


def test_architecture_figure_shows_itself_as_a_small_png(monkeypatch):
    pytest.importorskip("IPython")
    from PIL import Image

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    fig = viz.architecture_figure("sensory")
    fig._ipython_display_()
    png = shown[0].data
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.mode == "P" and len(image.getcolors()) <= 64
    full = io.BytesIO()
    fig.savefig(full, format="png", dpi=fig.dpi)
    assert image.size == Image.open(full).size and len(png) < 0.5 * len(full.getvalue())


def test_architecture_figure_refuses_an_unknown_part():
    with pytest.raises(ValueError, match="unknown part.*'memory'.*choose from"):
        viz.architecture_figure("memory")
    assert set(PARTS) == {"query", "readout", "sensory", "working", "long_term", "decoder", "value"}


def _decode(mp4: bytes) -> list[np.ndarray]:
    import av

    with av.open(io.BytesIO(mp4)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_overlay_video_plays_every_frame_with_its_mask_at_the_asked_size():
    rng = np.random.default_rng(0)
    frames = [np.full((45, 60, 3), 40, np.uint8) for _ in range(6)]
    masks = []
    for t in range(6):
        m = np.zeros((45, 60), np.uint8)
        m[10:30, 5 + 5 * t : 25 + 5 * t] = 1  # a square moving right
        masks.append(m)
    video = viz.overlay_video(frames, masks, fps=5, width=240, caption="moving square")
    assert video.size == (240, 180) and video.frame_indices == tuple(range(6))
    decoded = _decode(video.mp4)
    assert len(decoded) == 6 and decoded[0].shape == (180, 240, 3)
    # The tinted square moves: its centre of mass in the decoded video follows the mask.
    centres = []
    for image in decoded:
        tinted = np.abs(image.astype(int) - 40).sum(2) > 60
        tinted[:20, :] = False  # the frame-number label
        centres.append(np.nonzero(tinted)[1].mean() / 4)
    expected = [15 + 5 * t for t in range(6)]
    assert np.allclose(centres, expected, atol=2.5), (centres, expected)
    html = video._repr_html_()
    assert html.count("data:video/mp4;base64,") == 1 and "poster='data:image/jpeg;base64," in html
    assert "<source" not in html and " src='data:video/mp4;base64," in html  # on <video>: kept by JupyterLab's sanitiser
    assert "moving square" in html
    assert video.poster_figure().axes[0].images
    del rng


def test_overlay_video_takes_a_dict_of_masks_and_picks_frames():
    frames = [np.zeros((32, 32, 3), np.uint8) + t for t in range(5)]
    video = viz.overlay_video(frames, {0: np.zeros((32, 32), np.uint8), 3: np.ones((32, 32), np.uint8)}, width=64)
    assert video.frame_indices == (0, 3) and len(_decode(video.mp4)) == 2


def test_overlay_video_refuses_nothing_to_play_and_an_oversized_video(monkeypatch):
    with pytest.raises(ValueError, match="no frames to play"):
        viz.overlay_video([], [])
    monkeypatch.setattr("xmem_demo.viz.animation.MAX_EMBEDDED_BYTES", 100)
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="more than a notebook should embed"):
        viz.overlay_video([noise] * 3, [np.zeros((64, 64), np.uint8)] * 3, width=64)
