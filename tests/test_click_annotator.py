"""Notebook 06's clicks on the picture (`lessons.ClickAnnotator`): the same path as the app's clicks,
several objects, positive and negative clicks, undo and clear, and ipyevents' mouse events decoded."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from xmem_demo import lessons, viz
from xmem_demo.clicks import GrabCutSegmenter
from xmem_demo.errors import UserError


def _frame() -> np.ndarray:
    """Grey background, a red square (object A) on the left, a blue square (object B) on the right."""
    frame = np.full((80, 120, 3), 128, np.uint8)
    frame[20:50, 15:45] = (220, 30, 30)
    frame[25:55, 75:105] = (30, 30, 220)
    return frame


@pytest.fixture()
def annotator() -> lessons.ClickAnnotator:
    return lessons.ClickAnnotator(_frame(), GrabCutSegmenter(), display_width=240)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_clicks_make_one_object_and_a_second_object_gets_the_next_label(annotator):
    square_a = np.zeros((80, 120), bool)
    square_a[20:50, 15:45] = True
    labels = annotator.click(30, 35)
    assert _iou(labels == 1, square_a) > 0.8
    assert annotator.add_object() == 2 and annotator.active == 2
    labels = annotator.click(90, 40)
    assert labels[40, 90] == 2 and labels[35, 30] == 1  # object 1 kept
    assert set(np.unique(labels).tolist()) == {0, 1, 2}
    text = annotator.describe(truth=square_a.astype(np.uint8))
    assert "object 1: 1 positive, 0 negative" in text and "IoU with the mask file" in text
    assert "object 2 (clicks go here)" in text


def test_a_negative_click_is_background_and_undo_goes_back(annotator):
    annotator.click(30, 35)
    before = annotator.index_mask().copy()
    after = annotator.click(40, 45, positive=False)
    assert after[45, 40] == 0 and before[45, 40] == 1  # GrabCut: a negative click is certain background
    assert [c.positive for c in annotator.clicks[1]] == [True, False]
    np.testing.assert_array_equal(annotator.undo(), before)  # the same mask as before the negative click
    annotator.undo()
    assert not annotator.index_mask().any() and annotator.clicks[1] == []
    with pytest.raises(UserError, match="no click to undo for object 1"):
        annotator.undo()


def test_clear_forgets_every_object_and_select_creates_one(annotator):
    annotator.click(30, 35)
    annotator.select(3)
    annotator.click(90, 40)
    assert sorted(annotator.clicks) == [1, 3] and annotator.index_mask().max() == 3
    annotator.clear()
    assert annotator.clicks == {1: []} and annotator.active == 1 and not annotator.index_mask().any()
    with pytest.raises(UserError, match="object ids start at 1"):
        annotator.select(0)


def test_a_click_outside_the_frame_is_refused_and_nothing_is_recorded(annotator):
    with pytest.raises(UserError, match="outside the 120x80 frame"):
        annotator.click(120, 10)
    assert annotator.clicks[1] == []


def test_ipyevents_mouse_events_become_clicks_at_frame_pixels(annotator):
    # The picture is 240 px wide for a 120 px frame: picture pixel (60, 70) is frame pixel (30, 35).
    assert annotator.on_event({"type": "click", "dataX": 60, "dataY": 70, "shiftKey": False})
    assert annotator.clicks[1][-1] == lessons_click(30, 35, True)
    assert annotator.on_event({"type": "click", "dataX": 80, "dataY": 90, "shiftKey": True})  # shift: negative
    assert annotator.on_event({"type": "contextmenu", "dataX": 20, "dataY": 20})  # right click: negative
    assert [c.positive for c in annotator.clicks[1]] == [True, False, False]
    assert annotator.clicks[1][-1] == lessons_click(10, 10, False)
    assert not annotator.on_event({"type": "mousemove", "dataX": 1, "dataY": 1})  # not a click
    assert len(annotator.clicks[1]) == 3
    # The edge of the picture maps inside the frame (a click on the last pixel row is not refused).
    assert annotator.on_event({"type": "click", "dataX": 240, "dataY": 160})
    assert annotator.clicks[1][-1] == lessons_click(119, 79, True)


def lessons_click(x, y, positive):
    from xmem_demo.clicks import Click

    return Click(x, y, positive)


def test_the_picture_is_at_display_size_and_shows_mask_and_clicks(annotator):
    plain = annotator.picture()
    assert plain.shape == (160, 240, 3)
    annotator.click(30, 35)
    annotator.click(100, 70, positive=False)
    shown = annotator.picture()
    assert (shown[135:145, 195:205] == (235, 40, 40)).all(axis=-1).any()  # the negative click's red marker
    assert not np.array_equal(shown[50:90, 40:80], plain[50:90, 40:80])  # the mask tints object 1
    assert Image.open(io.BytesIO(annotator.png())).size == (240, 160)


def test_a_frame_that_is_not_rgb_is_refused():
    with pytest.raises(ValueError, match="H x W x 3"):
        lessons.ClickAnnotator(np.zeros((10, 10), np.uint8), GrabCutSegmenter())


def test_overlay_video_repr_leaves_out_the_bytes():
    """A notebook stores text/plain beside the HTML player: the MP4's bytes must not be in it."""
    frames = [np.full((32, 32, 3), 100, np.uint8)] * 3
    video = viz.overlay_video(frames, [np.zeros((32, 32), np.uint8)] * 3, width=64)
    assert len(repr(video)) < 300 < len(video.mp4)


def test_with_sam2_the_clicks_refine_and_reuse_one_embedding(sam2_segmenter):
    """The SAM 2.1 path (random weights in the official format: plumbing, not mask quality): every
    click of every object decodes from the frame's one embedding, and undo re-decodes."""
    annotator = lessons.ClickAnnotator(_frame(), sam2_segmenter)
    annotator.click(30, 35)
    annotator.click(40, 45, positive=False)
    annotator.add_object()
    annotator.click(90, 40)
    cache = annotator.session.cache
    assert cache.computed == 1 and cache.reused == 2  # one image encoder pass for the frame
    assert annotator.session.decodes == 3
    annotator.select(1)
    annotator.undo()
    assert annotator.session.decodes == 4 and [c.positive for c in annotator.clicks[1]] == [True]
    labels = annotator.index_mask()
    assert labels.shape == (80, 120) and set(np.unique(labels).tolist()) <= {0, 1, 2}
