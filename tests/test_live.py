"""Live tracking without a browser: the newest-wins slot, the real-time clip player, the tracker
(bounds, corrections, memory reset, processing-size choice), the recorder, and one visitor's
Live-tab session (xmem_demo.app.live_tab.state). A tiny random network keeps it fast."""

from __future__ import annotations

import json
import threading
import time
import zipfile

import numpy as np
import pytest

from xmem_demo import MemoryConfig, WeightsInfo
from xmem_demo.live import (
    ClipPlayer,
    FrameError,
    LatestFrame,
    LiveConfig,
    LiveFrame,
    LiveRecorder,
    LiveTracker,
    cap_frame_size,
    as_rgb_frame,
    choose_processing_size,
)
from xmem_demo.live.tracker import SizeChoice
from xmem_demo.weights import MINI_PATH

from .app_fixtures import CLIP_H, CLIP_W, disc_centre, make_frames
from .support import write_clip

SIZE = SizeChoice(64, {}, "64 px (test)")


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return make_frames(24)


def disc_mask(t: int, label: int = 1) -> np.ndarray:
    yy, xx = np.mgrid[:CLIP_H, :CLIP_W]
    x, y = disc_centre(t)
    return (((xx - x) ** 2 + (yy - y) ** 2) <= 14**2).astype(np.uint8) * label


# ---- frames ------------------------------------------------------------------------------------
def test_check_frame_accepts_rgb_gray_rgba_float_and_names_what_is_wrong():
    rgb = np.zeros((40, 50, 3), np.uint8)
    assert as_rgb_frame(rgb).shape == (40, 50, 3)
    assert as_rgb_frame(np.zeros((40, 50), np.uint8)).shape == (40, 50, 3)
    assert as_rgb_frame(np.zeros((40, 50, 4), np.uint8)).shape == (40, 50, 3)
    assert as_rgb_frame(np.full((40, 50, 3), 1.0)).max() == 255
    with pytest.raises(FrameError, match="no frame"):
        as_rgb_frame(None)
    with pytest.raises(FrameError, match="H x W x 3"):
        as_rgb_frame(np.zeros((40, 50, 2), np.uint8))
    with pytest.raises(FrameError, match="at least 16x16"):
        as_rgb_frame(np.zeros((8, 50, 3), np.uint8))
    with pytest.raises(FrameError, match="NaN"):
        as_rgb_frame(np.full((40, 50, 3), np.nan))
    with pytest.raises(FrameError, match="uint8"):
        as_rgb_frame(np.zeros((40, 50, 3), np.int32))


def test_cap_frame_size_only_shrinks():
    assert cap_frame_size(np.zeros((720, 1280, 3), np.uint8), 640).shape == (360, 640, 3)
    assert cap_frame_size(np.zeros((100, 120, 3), np.uint8), 640).shape == (100, 120, 3)


def test_latest_frame_keeps_only_the_newest():
    slot = LatestFrame()
    for i in range(3):
        slot.put(LiveFrame(np.zeros((2, 2, 3), np.uint8), i, 0.0))
    taken = slot.take(timeout=0.1)
    assert taken.index == 2 and slot.dropped == 2 and slot.offered == 3
    assert slot.take(timeout=0.05) is None  # nothing new: never the same frame twice
    slot.close()
    assert slot.take() is None  # closed and empty: returns at once


def test_latest_frame_fast_producer_slow_consumer_never_queues():
    slot = LatestFrame()
    image = np.zeros((2, 2, 3), np.uint8)

    def produce():
        for i in range(200):
            slot.put(LiveFrame(image, i, time.monotonic()))
            time.sleep(0.0005)
        slot.close()

    thread = threading.Thread(target=produce)
    thread.start()
    seen = []
    while (frame := slot.take(timeout=2.0)) is not None:
        seen.append(frame.index)
        time.sleep(0.01)  # a slow tracker
    thread.join()
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert seen[-1] == 199  # the newest frame is the last one handed out
    assert len(seen) + slot.dropped == 200 and slot.dropped > 0


# ---- the clip played as a camera ---------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def clip(tmp_path_factory, frames):
    return write_clip(tmp_path_factory.mktemp("live") / "clip.mp4", frames, fps=10.0)


def test_clip_player_skips_frames_a_slow_consumer_misses(clip):
    clock = FakeClock()
    player = ClipPlayer(clip, loop=False, clock=clock, sleep=clock.sleep)
    indices, captured = [], []
    for f in player:
        indices.append(f.index)
        captured.append(f.captured_at)
        clock.now += 0.25  # 4 frames per second of work, the clip plays at 10
    assert indices[0] == 0 and all(b - a in (2, 3) for a, b in zip(indices, indices[1:]))
    assert player.delivered == len(indices)
    assert player.delivered + player.dropped == 24  # every frame of the clip: shown or dropped
    assert np.allclose(np.diff(captured), np.diff(indices) / 10.0)  # capture time = the frame's own time


def test_clip_player_fast_consumer_gets_every_frame_and_can_loop(clip):
    clock = FakeClock()
    player = ClipPlayer(clip, loop=True, duration_s=3.0, clock=clock, sleep=clock.sleep)
    indices = [f.index for f in player]
    assert indices == list(range(30)) and player.dropped == 0  # 3 s at 10 fps, looping past the 24 frames
    assert np.array_equal(player._frame(24), player._frame(0))


# ---- the tracker -------------------------------------------------------------------------------
def test_live_config_refuses_unbounded_memory():
    with pytest.raises(ValueError, match="long-term"):
        LiveConfig(memory=MemoryConfig(enable_long_term=False))
    with pytest.raises(ValueError, match="usage"):
        LiveConfig(memory=MemoryConfig(count_long_term_usage=False))


def test_tracker_start_step_and_errors(tiny_model, frames):
    tracker = LiveTracker(tiny_model, LiveConfig(), SIZE)
    with pytest.raises(FrameError, match="no target"):
        tracker.step(frames[0])
    with pytest.raises(FrameError, match="empty"):
        tracker.start(frames[0], np.zeros((CLIP_H, CLIP_W), np.uint8))
    first = tracker.start(frames[0], disc_mask(0))
    given, back = disc_mask(0) > 0, first.labels > 0  # the annotation, through the 64 px working size and back
    assert first.labels.shape == (CLIP_H, CLIP_W) and (given & back).sum() / (given | back).sum() > 0.85
    for t in range(1, 6):
        r = tracker.step(frames[t], captured_at=time.monotonic() - 0.05, dropped=t)
        assert r.labels.shape == (CLIP_H, CLIP_W) and r.overlay().shape == (CLIP_H, CLIP_W, 3)
    s = tracker.stats
    assert s.frames == 6 and s.dropped == 5 and s.fps > 0 and s.latency_s >= 0.05 and s.step_s > 0
    assert s.memory_bytes["working"] > 0 and s.processing_size == 64
    # A frame of another size (the camera switched resolution) is brought to the tracked size.
    big = np.kron(frames[6], np.ones((2, 2, 1), np.uint8))
    assert tracker.step(big).labels.shape == (CLIP_H, CLIP_W)
    with pytest.raises(FrameError):
        tracker.step(np.zeros((5, 5, 3), np.uint8))


def test_tracker_caps_large_frames(tiny_model):
    tracker = LiveTracker(tiny_model, LiveConfig(max_side=64), SIZE)
    frame = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    mask = np.zeros((120, 160), np.uint8)
    mask[40:80, 50:100] = 1
    r = tracker.start(frame, mask)
    assert r.frame.shape == (48, 64, 3) and r.labels.shape == (48, 64) and r.labels.any()


def test_correct_keeps_memory_and_reset_empties_it(tiny_model, frames):
    cfg = LiveConfig(memory=MemoryConfig(mem_every=1, count_long_term_usage=True))
    tracker = LiveTracker(tiny_model, cfg, SIZE)
    tracker.start(frames[0], disc_mask(0))
    for t in range(1, 5):
        tracker.step(frames[t])
    before = tracker.stats.working_size
    tracker.correct(frames[5], disc_mask(5, label=2))  # a second object, drawn later
    assert tracker.stats.working_size > before
    assert tracker.session.object_ids == [1, 2]
    tracker.reset_memory()
    assert tracker.stats.working_size == tracker.stats.elements_per_frame  # only the annotation
    assert tracker.stats.frames == 1
    assert tracker.session.object_ids == [2]  # restarted from the last annotation
    tracker.close()
    assert tracker.session is None


def test_memory_stays_bounded_over_a_long_live_run(tiny_model, frames):
    memory = MemoryConfig(mem_every=1, min_mid_term_frames=2, max_mid_term_frames=4, num_prototypes=8,
                          max_long_term_elements=40, count_long_term_usage=True)
    tracker = LiveTracker(tiny_model, LiveConfig(memory=memory), SizeChoice(32, {}, "test"))
    tracker.start(frames[0], disc_mask(0))
    totals, working, long_term = [], [], []
    for t in range(1, 90):
        tracker.step(frames[t % len(frames)])
        s = tracker.stats
        totals.append(s.total_memory_bytes)
        working.append(s.working_size)
        long_term.append(s.long_term_size)
    s = tracker.stats
    assert s.consolidations > 5 and s.forgettings > 0
    assert max(long_term) <= memory.max_long_term_elements
    assert max(working) <= memory.max_mid_term_frames * s.elements_per_frame
    assert max(w + lt for w, lt in zip(working, long_term)) <= tracker.memory_bound_elements()
    assert max(totals[45:]) <= max(totals[:45])  # flat: the second half never holds more than the first


def test_processing_size_choice(tiny_model):
    assert choose_processing_size(tiny_model, LiveConfig(processing_size=96)).size == 96
    quick = choose_processing_size(tiny_model, LiveConfig(candidate_sizes=(32, 48), target_fps=1e-3), (64, 80))
    assert quick.size == 48 and set(quick.seconds_per_frame) == {32, 48} and "largest" in quick.reason
    hopeless = choose_processing_size(tiny_model, LiveConfig(candidate_sizes=(32, 48), target_fps=1e6), (64, 80))
    assert hopeless.size == 32 and "slower than" in hopeless.reason


# ---- the recorder ------------------------------------------------------------------------------
def test_recorder_writes_masks_video_and_trace(tiny_model, frames, tmp_path):
    tracker = LiveTracker(tiny_model, LiveConfig(), SIZE)
    rec = LiveRecorder(tmp_path / "run", fps=5, max_frames=4)
    rec.add(tracker.start(frames[0], disc_mask(0)), time.monotonic())
    for t in range(1, 6):
        rec.add(tracker.step(frames[t]), time.monotonic())
    d = rec.finish({"model": "tiny random"})
    assert d.frames == 4 and d.truncated  # 6 frames offered, 4 kept
    with zipfile.ZipFile(d.masks_zip) as zf:
        assert sorted(zf.namelist()) == [f"masks/{n:05d}.png" for n in range(4)]
    with zipfile.ZipFile(d.bundle_zip) as zf:
        assert {"overlay.mp4", "masks.zip", "memory_trace.csv", "session.json"} <= set(zf.namelist())
        summary = json.loads(zf.read("session.json"))  # RunWriter's summary.json: one writer for every front end
    assert summary["frames"] == 4 and summary["video_frames"] == [0, 3] and summary["model"] == "tiny random"
    rows = (tmp_path / "run" / "memory_trace.csv").read_text().strip().splitlines()
    assert len(rows) == 5 and "memory_bytes_working" in rows[0] and "latency_s" in rows[0]
    assert rec.finish() is d  # idempotent
    rec.discard()
    assert not (tmp_path / "run").exists()


# ---- one visitor's Live tab --------------------------------------------------------------------
@pytest.fixture
def live_session(tmp_path):
    from xmem_demo.app.live_tab.state import LiveSession

    from xmem_demo.clicks import GrabCutSegmenter

    return LiveSession(tmp_path / "live", segmenter=GrabCutSegmenter)  # the offline click-to-mask


def test_live_session_flow(tiny_model, frames, live_session, tmp_path):
    from xmem_demo.app.live_tab.layout import status_html
    from xmem_demo.errors import UserError
    from xmem_demo.live import LiveResult

    s = live_session
    with pytest.raises(UserError, match="no camera frame"):
        s.freeze()
    out = s.on_frame(frames[0])
    assert isinstance(out, np.ndarray) and s.phase == "preview"
    s.freeze()
    mini = WeightsInfo("mini", False, MINI_PATH, "xmem-demo", "", "")  # labelled like the bundled model
    with pytest.raises(UserError, match="no target"):
        s.track(tiny_model, 64, weights=mini)
    with pytest.raises(UserError, match="outside"):
        s.click(500, 10, True, on_display=False)
    s.click(*disc_centre(0), True, on_display=False)
    assert s.labels().sum() > 100
    s.track(tiny_model, 64, weights=mini)
    assert s.phase == "tracking"
    html_text = status_html(s)
    assert "mini (not the official XMem)" in html_text and "64 px" in html_text
    for t in range(1, 5):
        assert isinstance(s.on_frame(frames[t]), LiveResult)
    assert s.tracker.stats.frames == 5
    # Newest wins: a frame arriving while the tracker is busy is dropped, not queued.
    with s.lock:
        assert s.on_frame(frames[5]) is None
    assert s.frames_skipped == 1
    # The page sends one frame per stream_every_s: those that never reached on_frame are estimated dropped.
    s.first_frame_at = s.latest_at - 10 * s.limits.stream_every_s  # as if the camera had run for 10 intervals
    assert s.frames_dropped_estimate == 11 - s.frames_received + 1
    s.reset_memory()
    assert s.tracker.stats.frames == 1
    d = s.stop()
    assert s.phase == "stopped" and s.tracker is None and d.frames == 6
    with zipfile.ZipFile(d.masks_zip) as zf:
        assert len(zf.namelist()) == 6
    s.close()
    assert not (tmp_path / "live").exists() and s.latest is None and s.closed
    assert s.on_frame(frames[0]) is None  # a closed session takes nothing


def test_live_session_objects_undo_and_errors(live_session, frames):
    from xmem_demo.errors import UserError

    s = live_session
    s.on_frame(frames[0])
    s.freeze()
    s.click(*disc_centre(0), True, on_display=False)
    assert s.add_object() == 2
    s.click(100, 70, True, on_display=False)
    assert set(np.unique(s.labels())) == {0, 1, 2}
    s.undo()
    assert set(np.unique(s.labels())) == {0, 1}
    with pytest.raises(UserError, match="no click to undo"):
        s.undo()
    with pytest.raises(UserError, match="no object 9"):
        s.select_object(9)
    assert s.frozen_view().shape[2] == 3
    with pytest.raises(UserError, match="not tracking"):
        s.stop()
    with pytest.raises(UserError, match="not tracking"):
        s.reset_memory()


def test_registry_frees_a_session_by_its_hash(tmp_path):
    from xmem_demo.app.live_tab.state import LiveRegistry, LiveSession

    registry = LiveRegistry()
    s = LiveSession(tmp_path / "a")
    registry.add("abc", s)
    assert registry.open_sessions() == ["abc"]
    assert registry.close("abc") and s.closed and registry.open_sessions() == []
    assert not registry.close("abc")
    other = LiveSession(tmp_path / "b")
    registry.add("def", other)
    del other  # held weakly: the visitor's state owns it
    import gc

    gc.collect()
    assert registry.open_sessions() == []


def test_image_html_is_inline():
    from xmem_demo.app.live_tab.layout import image_html

    out = image_html(np.zeros((20, 30, 3), np.uint8))
    assert out.startswith("<img") and "data:image/jpeg;base64," in out and 'width="30"' in out
    assert "No frame" in image_html(None)


def test_the_frame_counters_say_what_they_count(live_session, frames):
    """Issue 25: "dropped ≈1547" next to "received 83" read as a bug. The line names each count
    (sent by the page, received by the server, segmented, skipped) and they add up."""
    from xmem_demo.app.live_tab.layout import status_html

    s = live_session
    for t in range(3):
        s.on_frame(frames[t])
    s.first_frame_at = s.latest_at - 20 * s.limits.stream_every_s  # the camera ran for 20 intervals
    with s.lock:
        s.on_frame(frames[3])  # busy: skipped
    text = status_html(s)
    for words in ("sent by the page ≈ <b>21</b>", "received by the server: <b>3</b>", "segmented: <b>0</b>", "skipped ≈ <b>19</b>"):
        assert words in text, (words, text)
    assert s.frames_sent_estimate == s.frames_received + s.frames_dropped_estimate - s.frames_skipped
