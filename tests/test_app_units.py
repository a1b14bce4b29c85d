"""The app's logic without a server: state, click-to-mask, actions, a tracking run, exports."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from xmem_demo.app import limits
from xmem_demo.app.clip_tab import actions
from xmem_demo.clicks import GrabCutSegmenter, choose_segmenter
from xmem_demo.app.clip_tab.plots import memory_figure
from xmem_demo.app.clip_tab.state import AppState, Click, FrameEdit, ObjectEdit
from xmem_demo.app.clip_tab.tracking import TrackSettings, app_memory_settings, default_memory, run_tracking
from xmem_demo.config import MemoryConfig
from xmem_demo.errors import UserError

from .app_fixtures import BAD_CLIP_MESSAGES, CLIP_FRAMES, CLIP_H, CLIP_W, disc_centre, make_frames


def disc_mask(t: int = 0) -> np.ndarray:
    m = np.zeros((CLIP_H, CLIP_W), np.uint8)
    cv2.circle(m, disc_centre(t), 14, 1, thickness=-1)
    return m.astype(bool)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


# ---- state ----------------------------------------------------------------------------------
def test_compose_puts_edits_over_the_base():
    base = np.zeros((4, 4), np.uint8)
    base[:2] = 1
    base[2:] = 2
    edit = FrameEdit(base=base, base_source="result")
    new = np.zeros((4, 4), bool)
    new[3, 3] = True
    edit.objects[1] = ObjectEdit(click_mask=new)
    out = edit.compose((4, 4))
    assert out[0, 0] == 0 and out[3, 3] == 1 and out[2, 0] == 2  # object 1 replaced, object 2 kept


def test_objects_get_free_ids_and_a_limit():
    state = AppState()
    assert state.add_object("cat").id == 2 and state.active == 2
    for _ in range(limits.MAX_OBJECTS - 2):
        state.add_object()
    with pytest.raises(UserError, match="at most"):
        state.add_object()


def test_state_holds_no_frames(loaded):
    actions.add_click(loaded, *disc_centre(0), True, GrabCutSegmenter())
    arrays = [v for v in vars(loaded).values() if isinstance(v, np.ndarray)]
    assert not arrays  # only the clip path; frames are decoded on demand
    assert loaded.clip.path.endswith("tiny.mp4")


# ---- click-to-mask --------------------------------------------------------------------------
def test_grabcut_finds_the_clicked_disc():
    frame = make_frames()[0]
    mask = GrabCutSegmenter().segment(frame, [Click(*disc_centre(0), True)])
    assert iou(mask, disc_mask(0)) > 0.9


def test_grabcut_negative_click_and_no_positive():
    frame = make_frames()[0]
    seg = GrabCutSegmenter()
    assert not seg.segment(frame, [Click(5, 5, False)]).any()
    x, y = disc_centre(0)
    mask = seg.segment(frame, [Click(x, y, True), Click(x + 10, y, False)])
    assert mask[y, x] and not mask[y, x + 10]


def test_segmenter_is_grabcut_without_sam(app_env):
    assert choose_segmenter().name == "grabcut"


def test_click_undo_clear(loaded):
    seg = GrabCutSegmenter()
    x, y = disc_centre(0)
    actions.add_click(loaded, x, y, True, seg)
    assert iou(loaded.annotations()[0] == 1, disc_mask(0)) > 0.9
    actions.add_click(loaded, 5, 5, False, seg)
    assert len(loaded.edits[0].objects[1].clicks) == 2
    actions.undo_click(loaded, seg)
    assert len(loaded.edits[0].objects[1].clicks) == 1
    actions.undo_click(loaded, seg)
    assert loaded.annotations() == {} and 0 not in loaded.edits
    with pytest.raises(UserError, match="no click to undo"):
        actions.undo_click(loaded, seg)
    actions.add_click(loaded, x, y, True, seg)
    actions.clear_frame(loaded)
    assert loaded.annotations() == {}


def test_display_clicks_map_back_to_full_resolution(loaded, monkeypatch):
    monkeypatch.setattr("xmem_demo.app.clip_tab.actions.display_scale", lambda w, h: 0.5)
    x, y = disc_centre(0)
    actions.add_display_click(loaded, x / 2, y / 2, True, GrabCutSegmenter())
    click = loaded.edits[0].objects[1].clicks[0]
    assert (click.x, click.y) == (x, y)


def test_click_outside_and_before_loading(loaded):
    with pytest.raises(UserError, match="outside"):
        actions.add_click(loaded, CLIP_W + 5, 3, True)
    with pytest.raises(UserError, match="load a clip first"):
        actions.add_click(AppState(), 3, 3, True)


def test_several_objects_each_with_its_own_label(loaded):
    seg = GrabCutSegmenter()
    actions.add_click(loaded, *disc_centre(0), True, seg)
    actions.add_object(loaded, "square")
    actions.add_click(loaded, 100, 72, True, seg)
    ann = loaded.annotations()[0]
    assert set(np.unique(ann)) == {0, 1, 2}
    assert loaded.object(2).name == "square"
    actions.rename_object(loaded, "blue square")
    assert loaded.object(2).name == "blue square"
    with pytest.raises(UserError, match="empty"):
        actions.rename_object(loaded, "  ")
    actions.remove_object(loaded)
    assert set(np.unique(loaded.annotations()[0])) == {0, 1}
    with pytest.raises(UserError, match="at least one"):
        actions.remove_object(loaded)


def test_mask_upload(loaded, tmp_path):
    from xmem_demo.video import write_index_mask

    good = np.zeros((CLIP_H, CLIP_W), np.uint8)
    good[10:20, 10:20] = 3
    write_index_mask(tmp_path / "good.png", good)
    actions.set_frame(loaded, 4)
    actions.apply_mask_upload(loaded, tmp_path / "good.png")
    assert loaded.object(3) is not None and loaded.active == 3
    assert np.array_equal(loaded.annotations()[4], good)

    write_index_mask(tmp_path / "small.png", good[:50])
    with pytest.raises(UserError, match="the mask 'small.png' is 50x128 but the frame is 96x128"):
        actions.apply_mask_upload(loaded, tmp_path / "small.png")
    write_index_mask(tmp_path / "blank.png", np.zeros_like(good))
    with pytest.raises(UserError, match="no object"):
        actions.apply_mask_upload(loaded, tmp_path / "blank.png")
    (tmp_path / "mask.jpg").write_bytes(b"x")
    with pytest.raises(UserError, match="not a PNG index mask"):
        actions.apply_mask_upload(loaded, tmp_path / "mask.jpg")


def test_brush_adds_and_removes(loaded):
    layer = np.zeros((CLIP_H, CLIP_W, 4), np.uint8)
    layer[10:30, 10:30] = (255, 255, 255, 255)  # white: add
    actions.apply_brush(loaded, {"background": None, "layers": [layer], "composite": None})
    assert (loaded.annotations()[0] == 1).sum() == 400
    erase = np.zeros_like(layer)
    erase[10:20, 10:30] = (0, 0, 0, 255)  # black: remove
    actions.apply_brush(loaded, {"background": None, "layers": [erase], "composite": None})
    assert (loaded.annotations()[0] == 1).sum() == 200
    with pytest.raises(UserError, match="nothing painted"):
        actions.apply_brush(loaded, {"background": None, "layers": [], "composite": None})


@pytest.mark.parametrize("kind, message", BAD_CLIP_MESSAGES)
def test_bad_clips_are_refused_with_a_reason(bad_files, kind, message):
    if kind not in bad_files:
        pytest.skip("ffmpeg could not write a zero-frame clip here")
    with pytest.raises(UserError, match=message):
        actions.load_clip(AppState(), bad_files[kind])


def test_examples_are_only_the_bundled_ones(app_env):
    with pytest.raises(UserError, match="not one of the bundled examples"):
        actions.load_example(AppState(), "../../etc/passwd")
    with pytest.raises(UserError, match="pick an example"):
        actions.load_example(AppState(), None)


def test_clip_over_the_limits(app_examples, monkeypatch):
    monkeypatch.setattr("xmem_demo.app.clip_tab.clip.MAX_FRAMES", 5)
    with pytest.raises(UserError, match="at most 5 frames"):
        actions.load_clip(AppState(), app_examples / "tiny.mp4")
    monkeypatch.setattr("xmem_demo.app.clip_tab.clip.MAX_SIDE", 100)
    monkeypatch.setattr("xmem_demo.app.clip_tab.clip.MAX_FRAMES", 100)
    with pytest.raises(UserError, match="4K"):
        actions.load_clip(AppState(), app_examples / "tiny.mp4")


# ---- tracking -------------------------------------------------------------------------------
SMALL_MEMORY = dict(mem_every=3, min_mid_term_frames=2, max_mid_term_frames=4, num_prototypes=16, max_long_term_elements=1000)


def small_settings(weights: Path, memory: dict | None = None, **changes) -> TrackSettings:
    memory = {**default_memory(), **SMALL_MEMORY, **(memory or {})}
    return TrackSettings(**{**dict(weights=str(weights), device="cpu", working_size=96, memory=memory), **changes})


def test_track_settings_round_trip_to_memory_config_by_name():
    """Every setting the app offers reaches MemoryConfig under its own field name, and back."""
    offered = app_memory_settings()
    assert set(offered) == {"mem_every", "top_k", "enable_long_term", "min_mid_term_frames", "max_mid_term_frames",
                            "num_prototypes", "max_long_term_elements"}  # d has no app range: official value
    config = MemoryConfig(mem_every=7, top_k=11, enable_long_term=False, min_mid_term_frames=3,
                          max_mid_term_frames=9, num_prototypes=64, max_long_term_elements=2000)
    settings = TrackSettings(memory={name: getattr(config, name) for name in offered})
    assert settings.memory_config() == config
    assert TrackSettings().memory_config() == MemoryConfig()  # the app starts at the official defaults
    record = settings.record()
    assert {name: record[name] for name in offered} == settings.memory and record["working_size"] == 480
    # Slider values arrive as floats; invalid combinations keep MemoryConfig's reason.
    assert TrackSettings(memory={"top_k": 12.0}).memory_config().top_k == 12
    with pytest.raises(UserError, match="invalid memory settings: .*T_max"):
        TrackSettings(memory={"min_mid_term_frames": 8, "max_mid_term_frames": 4}).memory_config()
    with pytest.raises(UserError, match="whole numbers, got top_k='many'"):
        TrackSettings(memory={"top_k": "many"}).memory_config()
    with pytest.raises(UserError, match="unknown memory settings: r"):
        TrackSettings(memory={"r": 3}).memory_config()


def build_controls() -> dict:
    import gradio as gr

    from xmem_demo.app.clip_tab.layout import memory_controls

    with gr.Blocks():
        return memory_controls()


def test_the_layout_creates_every_widget_once():
    import gradio as gr

    from xmem_demo.app.clip_tab.layout import Widgets, build_layout

    with gr.Blocks():
        w = build_layout()
    assert all(getattr(w, f.name) is not None for f in dataclasses.fields(Widgets))
    with pytest.raises(RuntimeError, match="did not create: state, banner_box"):
        Widgets().complete()


def test_the_live_tab_creates_every_widget_once():
    import gradio as gr

    from xmem_demo.app.live_tab import events, layout
    from xmem_demo.app.live_tab.layout import LiveWidgets

    with gr.Blocks() as demo:
        w = layout.build_layout()
        events.wire(demo, w, gr.Dropdown(["auto"], value="auto"))
    assert all(getattr(w, f.name) is not None for f in dataclasses.fields(LiveWidgets))
    assert demo.live_sessions is w.registry
    with pytest.raises(RuntimeError, match="did not create: state, camera"):
        LiveWidgets(w.registry).complete()


@pytest.mark.parametrize("button, reason", [("reset_btn", "nothing to reset"), ("stop_btn", "press ▶ Track first")])
def test_live_reset_and_stop_before_tracking_say_why(app_env, button, reason):
    """Reset memory / Stop before ▶ Track: the reason in the Live status line, not a traceback."""
    import gradio as gr

    from xmem_demo.app.live_tab import events, layout

    with gr.Blocks() as demo:
        w = layout.build_layout()
        events.wire(demo, w, gr.Dropdown(["auto"], value="auto"))
    (handler,) = [f.fn for f in demo.fns.values() if (getattr(w, button)._id, "click") in f.targets]
    try:
        updates = handler(None, gr.Request(session_hash=f"live-{button}"))
        assert reason in updates[w.status]
    finally:
        for session_hash in w.registry.open_sessions():
            w.registry.close(session_hash)


def test_memory_controls_follow_memory_config_settings(monkeypatch):
    """The Advanced accordion is built from MemoryConfig.settings(): labels, help, ranges and
    defaults come from there, and a setting added to (or removed from) it adds (removes) a control."""
    import gradio as gr

    controls = build_controls()
    assert list(controls) == list(app_memory_settings())
    defaults = MemoryConfig()
    for name, setting in app_memory_settings().items():
        control = controls[name]
        assert control.label == setting.label and control.info == setting.help
        assert control.value == getattr(defaults, name)
        if isinstance(control, gr.Slider):
            assert (control.minimum, control.maximum, control.step) == (setting.low, setting.high, setting.step)
        else:
            assert isinstance(control, gr.Checkbox) and isinstance(getattr(defaults, name), bool)

    settings = dict(MemoryConfig.settings())
    del settings["top_k"]
    settings["deep_update_every"] = dataclasses.replace(settings["deep_update_every"], low=-1, high=20)
    monkeypatch.setattr(MemoryConfig, "settings", classmethod(lambda cls: settings))
    controls = build_controls()
    assert "top_k" not in controls and controls["deep_update_every"].maximum == 20
    assert TrackSettings().memory_config().top_k == defaults.top_k  # not offered: the official value


def test_the_app_runs_a_small_clip_at_its_own_size(loaded, app_weights, monkeypatch):
    """The app asks geometry.py's one resize rule for no upsampling: the 96x128 clip at a
    requested 480 runs at 96x128 (the official rule would make it 480x640)."""
    from xmem_demo.app.clip_tab import tracking

    sizes = []
    real_track = tracking.track
    monkeypatch.setattr(tracking, "track", lambda *a, **k: sizes.append(k["working_size"]) or real_track(*a, **k))
    actions.add_click(loaded, *disc_centre(0), True, GrabCutSegmenter())
    updates = list(run_tracking(loaded, small_settings(app_weights, working_size=480, last=1)))
    assert sizes == [None] and updates[-1].phase == "done"
    list(run_tracking(loaded, small_settings(app_weights, working_size=64, last=1)))
    assert sizes[-1] == 64  # smaller than the clip: resized down, as before


def test_track_from_a_middle_frame_forward_and_backward(loaded, app_weights):
    actions.set_frame(loaded, 5)
    actions.add_click(loaded, *disc_centre(5), True, GrabCutSegmenter())
    updates = list(run_tracking(loaded, small_settings(app_weights)))
    phases = [u.phase for u in updates]
    assert phases[0] == "loading weights" and phases[-1] == "done"
    assert "forward" in phases and "backward" in phases
    final = updates[-1]
    assert final.done == CLIP_FRAMES and len(final.trace) == CLIP_FRAMES
    assert [r["direction"] for r in final.trace] == ["forward"] * 7 + ["backward"] * 5
    assert {"sensory", "working", "long_term"} <= set(final.trace[0]["memory_bytes"])
    r = loaded.result
    assert (r.first, r.last, r.stopped) == (0, CLIP_FRAMES - 1, False)
    for path in (r.overlay, r.masks_zip, r.objects_zip, r.bundle_zip):
        assert Path(path).stat().st_size > 0
    with zipfile.ZipFile(r.masks_zip) as zf:
        assert zf.namelist() == [f"tiny/{t:05d}.png" for t in range(CLIP_FRAMES)]
    with zipfile.ZipFile(r.objects_zip) as zf:
        assert zf.namelist() == ["tiny_object01_object_1.mp4"]
    with zipfile.ZipFile(r.bundle_zip) as zf:
        names = set(zf.namelist())
        assert {
            "settings.json",
            "clicks.json",
            "objects.json",
            "memory_trace.csv",
            "memory_trace.json",
            "annotations/00005.png",
            "run.json",
        } <= names
        settings = json.loads(zf.read("settings.json"))
        assert settings["memory_config"]["mem_every"] == 3
        clicks = json.loads(zf.read("clicks.json"))
        assert clicks["5"]["1"]["clicks"][0] == {"x": disc_centre(5)[0], "y": disc_centre(5)[1], "positive": True}
        csv_text = zf.read("memory_trace.csv").decode()
        assert csv_text.splitlines()[0].count("memory_bytes_long_term") == 1
        assert len(csv_text.strip().splitlines()) == CLIP_FRAMES + 1


def test_track_refuses_bad_requests(loaded, app_weights):
    with pytest.raises(UserError, match="no object selected"):
        list(run_tracking(loaded, small_settings(app_weights)))
    actions.set_frame(loaded, 8)
    actions.add_click(loaded, *disc_centre(8), True, GrabCutSegmenter())
    with pytest.raises(UserError, match="no annotated frame lies in the range 0..5"):
        list(run_tracking(loaded, small_settings(app_weights, last=5)))
    with pytest.raises(UserError, match="not inside the clip"):
        list(run_tracking(loaded, small_settings(app_weights, last=50)))
    with pytest.raises(UserError, match="T_max"):
        list(run_tracking(loaded, small_settings(app_weights, memory=dict(min_mid_term_frames=6, max_mid_term_frames=4))))
    with pytest.raises(UserError, match="load a clip first"):
        list(run_tracking(AppState(), small_settings(app_weights)))


def test_stop_keeps_what_was_done(loaded, app_weights, monkeypatch):
    monkeypatch.setattr("xmem_demo.app.clip_tab.tracking.PREVIEW_INTERVAL_S", 0.0)  # an update per frame
    actions.add_click(loaded, *disc_centre(0), True, GrabCutSegmenter())
    seen = []
    run = run_tracking(loaded, small_settings(app_weights))
    for update in run:
        seen.append(update)
        if update.phase == "forward" and update.done >= 4:
            loaded.stop_requested = True
    final = seen[-1]
    assert final.phase == "stopped"
    assert loaded.result.stopped and 4 <= loaded.result.frames_done < CLIP_FRAMES
    with zipfile.ZipFile(loaded.result.masks_zip) as zf:
        assert len(zf.namelist()) == loaded.result.frames_done
    assert Path(loaded.result.overlay).stat().st_size > 0


def test_correction_then_retrack_adds_an_object(loaded, app_weights):
    seg = GrabCutSegmenter()
    actions.add_click(loaded, *disc_centre(0), True, seg)
    list(run_tracking(loaded, small_settings(app_weights)))
    first_run = loaded.result.run_dir
    actions.set_frame(loaded, 6)
    actions.add_object(loaded, "square")
    actions.add_click(loaded, 100, 66, True, seg)
    ann6 = loaded.annotations()[6]
    assert 2 in ann6  # the new object...
    assert loaded.edits[6].base_source == "result"  # ...drawn over the first run's result
    list(run_tracking(loaded, small_settings(app_weights)))
    assert not Path(first_run).exists()  # the previous run's files are replaced
    masks = [actions.result_mask(loaded, t) for t in range(CLIP_FRAMES)]
    assert all(2 not in m for m in masks[:6]) and all(2 in m for m in masks[6:8])


def test_memory_figure_draws_tiers():
    rows = [
        {
            "memory_bytes": {"sensory": 10, "working": 100 * i, "long_term": 5 * i},
            "working_size": i,
            "long_term_size": i,
            "consolidation": i == 3,
            "direction": "forward" if i < 5 else "backward",
        }
        for i in range(8)
    ]
    fig = memory_figure(rows, 10)
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    for tier in ("working memory", "long-term memory", "sensory memory", "consolidation", "backward pass"):
        assert tier in labels
    consolidation = [line for line in ax.get_lines() if line.get_label() == "consolidation"]
    assert [line.get_xdata()[0] for line in consolidation] == [3]  # frames processed, not the frame index
    assert ax.get_yscale() == "log" and ax.get_xlim() == (0, 10)
    assert memory_figure([]).axes[0].get_title().startswith("Memory per tier")
