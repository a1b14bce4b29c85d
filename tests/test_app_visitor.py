"""What a visitor sees around a run (issue 25), without a browser: the writing stage with its
own rate and ETA, the time counted from Track to the downloads, a stopped run that never
silently replaces a complete one, object colours that stand out on the clip, and one-sentence
messages with the details folded."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from xmem_demo.app.clip_tab import actions
from xmem_demo.palette import DISPLAY_COLOURS, _lab, contrast_palette, object_color
from xmem_demo.errors import UserError
from xmem_demo.app.clip_tab.tracking import WRITING, TrackSettings, restore_kept, run_tracking
from xmem_demo.clicks import GrabCutSegmenter

from .app_fixtures import CLIP_FRAMES, DEFAULT_TRACK, disc_centre


def settings(app_weights, **changes) -> TrackSettings:
    memory = {k: v for k, v in DEFAULT_TRACK.items() if k not in ("weights", "device", "working_size")}
    return TrackSettings(str(app_weights), "cpu", 96, memory, **changes)


def test_writing_is_a_stage_with_its_eta_and_the_whole_wait_is_counted(loaded, app_weights, monkeypatch):
    monkeypatch.setattr("xmem_demo.app.clip_tab.tracking.PREVIEW_INTERVAL_S", 0.0)  # an update per frame
    actions.add_click(loaded, *disc_centre(0), True, GrabCutSegmenter())
    started = time.perf_counter()
    updates = list(run_tracking(loaded, settings(app_weights)))
    wall = time.perf_counter() - started
    phases = [u.phase for u in updates]
    writing = [u for u in updates if u.phase == WRITING]
    assert phases.index("forward") < phases.index(WRITING) < phases.index("done")
    assert [u.done for u in writing] == list(range(1, CLIP_FRAMES + 1)) and writing[0].total == CLIP_FRAMES
    assert all(u.fps > 0 and u.eta_s is not None for u in writing)  # its own rate and ETA
    assert "stage 2 of 2" in writing[0].note and "stage 1 of 2" in updates[1].note
    elapsed = [u.elapsed_s for u in updates[1:]]
    assert elapsed == sorted(elapsed)  # one clock for every stage
    r = loaded.result
    assert r.write_seconds > 0 and r.total_seconds >= r.seconds + r.write_seconds
    assert wall - 0.5 < r.total_seconds <= wall  # what the visitor waited, not the tracking alone


def test_a_stopped_run_keeps_the_complete_one_until_the_visitor_chooses(loaded, app_weights, monkeypatch):
    monkeypatch.setattr("xmem_demo.app.clip_tab.tracking.PREVIEW_INTERVAL_S", 0.0)  # an update per frame: Stop at frame 3
    actions.add_click(loaded, *disc_centre(0), True, GrabCutSegmenter())
    list(run_tracking(loaded, settings(app_weights)))
    complete = loaded.result
    assert loaded.kept is None and not complete.stopped

    def stop_after(frames: int) -> None:
        for update in run_tracking(loaded, settings(app_weights)):
            if update.phase == "forward" and update.done >= frames:
                loaded.stop_requested = True

    stop_after(3)
    stopped = loaded.result
    assert stopped.stopped and loaded.kept is complete  # shown: the stopped run; kept: the complete one
    assert Path(complete.masks_zip).exists() and Path(stopped.masks_zip).exists()
    stop_after(3)  # stopped again: the complete run is still the one kept, the first stopped one goes
    assert loaded.kept is complete and not Path(stopped.run_dir).exists()

    restore_kept(loaded)  # the visitor goes back
    assert loaded.result is complete and loaded.kept is None
    assert actions.result_mask(loaded, CLIP_FRAMES - 1) is not None
    with pytest.raises(UserError, match="no earlier complete result"):
        restore_kept(loaded)

    stop_after(3)
    assert loaded.kept is complete
    list(run_tracking(loaded, settings(app_weights)))  # a complete run: nothing more to keep
    assert loaded.kept is None and not Path(complete.run_dir).exists()
    assert len(list(Path(loaded.session_dir).glob("run-*"))) == 1  # one run's files on disk


def test_object_colours_stand_out_on_the_clip():
    """On a mustard-yellow scene object 1 is not mustard; on a plain grey one the usual palette stays."""
    yellow = np.zeros((90, 160, 3), np.uint8)
    yellow[:] = DISPLAY_COLOURS[1]  # the scene is object 1's usual colour
    yellow[:, :40] = (200, 170, 40)  # a darker yellow part
    palette = contrast_palette(yellow)
    first = np.array(object_color(1, palette))
    assert np.linalg.norm(_lab(first) - _lab(DISPLAY_COLOURS[1])) > 40
    for obj_id in (1, 2, 3):
        distance = np.linalg.norm(_lab(np.array(object_color(obj_id, palette))) - _lab(yellow[0, 100]))
        assert distance > 40, (obj_id, distance)
    grey = np.full((90, 160, 3), 128, np.uint8)
    assert [object_color(i, contrast_palette(grey)) for i in range(1, 21)] == [object_color(i) for i in range(1, 21)]
    assert sorted(contrast_palette(yellow)) == sorted(tuple(int(v) for v in c) for c in DISPLAY_COLOURS)


def test_a_loaded_clip_gets_its_palette(loaded):
    assert loaded.palette is not None and len(loaded.palette) == len(DISPLAY_COLOURS)


def test_the_click_model_line_is_one_sentence_with_the_details_folded(app_env):
    from xmem_demo.app.clip_tab.layout import click_model_line

    problem = "the download failed: https://example.org/a.pt [Errno -2] Name or service not known (/root/.cache/x)"
    line = click_model_line(GrabCutSegmenter(), problem)
    shown, folded = line.split("</summary>")
    assert "http" not in shown and "Errno" not in shown and "/root" not in shown
    assert shown.count(".") == 1 and "box" in shown  # one sentence, suggesting a box first
    assert "Errno -2" in folded and "<details" in line


def look_alike_scene() -> tuple[np.ndarray, np.ndarray]:
    """A red disc (the object) and a red look-alike far from it, on grey noise; the object's mask."""
    import cv2

    rng = np.random.default_rng(1)
    frame = cv2.GaussianBlur(rng.integers(90, 150, (240, 320, 3), dtype=np.uint8), (0, 0), 2)
    cv2.circle(frame, (70, 80), 28, (220, 30, 30), -1)
    cv2.circle(frame, (250, 170), 28, (220, 30, 30), -1)
    gt = np.zeros((240, 320), np.uint8)
    cv2.circle(gt, (70, 80), 28, 1, -1)
    return frame, gt > 0


def test_grabcut_never_jumps_to_a_look_alike_far_from_the_clicks():
    """Issue 25: a correction click on a fighter jumped to the spectators' white uniforms. A
    correction (a tracked prior, off by a few pixels, plus a click) stays on the object."""
    from xmem_demo.clicks import Click, Prompt

    frame, gt = look_alike_scene()
    prior = np.roll(gt, (6, 6), axis=(0, 1))  # the tracked mask, a little off
    seg = GrabCutSegmenter()
    mask = seg.predict(frame, Prompt(clicks=[Click(60, 70, True)], prior_mask=prior)).mask
    far_side = mask[:, 180:]
    assert not far_side.any(), f"{int(far_side.sum())} px taken on the look-alike"
    assert (mask & gt).sum() / (mask | gt).sum() > 0.7
    one_click = seg.segment(frame, [Click(70, 80, True)])
    assert not one_click[:, 180:].any()


def test_a_grabcut_click_suggests_a_box(loaded):
    from xmem_demo.app.clip_tab.actions import click_note

    actions.add_click(loaded, *disc_centre(0), True, GrabCutSegmenter())
    assert "GrabCut does best from a box" in click_note(loaded)
    actions.clear_frame(loaded)
    actions.add_box_corner(loaded, 10, 30, GrabCutSegmenter())
    actions.add_box_corner(loaded, 50, 66, GrabCutSegmenter())
    assert "GrabCut does best from a box" not in click_note(loaded)
