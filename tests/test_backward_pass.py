"""The backward pass reads frames in forward windows, and the app's ETA covers both passes."""

from __future__ import annotations

import numpy as np
import pytest

from xmem_demo import MemoryConfig, WeightsInfo
from xmem_demo.pipeline import ArraySource, track
from xmem_demo.readahead import ReverseReadahead, readahead_window


class CountingSource(ArraySource):
    """Records every index asked for; `jumps_back` counts reads of an earlier frame than the last
    one read (each costs a decoder a seek back to a keyframe)."""

    def __init__(self, frames) -> None:
        super().__init__(frames)
        self.reads: list[int] = []

    def get(self, index: int) -> np.ndarray:
        self.reads.append(index)
        return super().get(index)

    @property
    def jumps_back(self) -> int:
        return sum(1 for a, b in zip(self.reads, self.reads[1:]) if b < a)


def frames(n: int, h: int = 32, w: int = 48) -> list[np.ndarray]:
    return [np.full((h, w, 3), t, np.uint8) for t in range(n)]


def test_backward_walk_is_served_from_forward_windows():
    source = CountingSource(frames(100))
    ahead = ReverseReadahead(source, window=16)
    got = [int(ahead.get(t)[0, 0, 0]) for t in range(99, -1, -1)]
    assert got == list(range(99, -1, -1))  # the right frames, in the order asked
    assert sorted(source.reads) == list(range(100))  # every frame decoded exactly once
    assert source.jumps_back == ahead.windows_read == 7  # one seek per window of 16 (99 -> 83, ...), not 99


def test_forward_and_random_reads_pass_straight_through():
    source = CountingSource(frames(20))
    ahead = ReverseReadahead(source, window=8)
    for t in [0, 1, 2, 3, 10, 4, 15]:
        assert int(ahead.get(t)[0, 0, 0]) == t
    assert source.reads == [0, 1, 2, 3, 10, 4, 15] and ahead.windows_read == 0


def test_window_is_bounded_by_memory():
    assert readahead_window(1280 * 720 * 3) == 64
    assert readahead_window(3840 * 2160 * 3) == 10
    assert readahead_window(10**12) == 2
    with pytest.raises(ValueError):
        ReverseReadahead([], window=0)


def test_track_backward_pass_seeks_once_per_window(tiny_model):
    n, anchor = 40, 30
    source = CountingSource(frames(n))
    mask = np.zeros((32, 48), np.uint8)
    mask[8:20, 10:30] = 1
    results = list(track(tiny_model, source, {anchor: mask}, MemoryConfig(), working_size=None))
    assert [r.index for r in results] == list(range(anchor, n)) + list(range(anchor - 1, -1, -1))
    assert all(r.frame is not None and int(r.frame[0, 0, 0]) == r.index for r in results)
    # Reads: frame 0 (checks), forward 30..39, then the backward pass from 30 down: a jump back to
    # 30, then windows of readahead_window(...) frames (all 31 in one window here).
    assert source.jumps_back <= 3, source.reads


def test_app_eta_covers_both_passes(monkeypatch, tiny_model, tmp_path):
    from xmem_demo.app.clip_tab import tracking
    from xmem_demo.app.clip_tab.state import AppState

    from .app_fixtures import CLIP_FRAMES, disc_centre
    from .app_fixtures import make_frames
    from .support import write_clip
    from xmem_demo.app.clip_tab import actions

    clip = write_clip(tmp_path / "tiny.mp4", make_frames())
    state = AppState()
    state.session_dir = str(tmp_path / "session")
    actions.load_clip(state, clip)
    actions.set_frame(state, 6)
    x, y = disc_centre(6)
    actions.add_click(state, x, y, True)
    monkeypatch.setattr(tracking, "PREVIEW_INTERVAL_S", 0.0)  # an update for every frame
    info = WeightsInfo("tiny", False, tmp_path / "tiny.pth", "xmem-demo", "", "tiny")
    monkeypatch.setattr(tracking, "get_model", lambda *a, **k: (tiny_model, info))
    settings = tracking.TrackSettings(weights="tiny", device="cpu", working_size=-1)
    updates = [u for u in tracking.run_tracking(state, settings) if u.phase in ("forward", "backward")]
    assert [u.done for u in updates] == list(range(1, CLIP_FRAMES + 1))
    first_forward = updates[0]
    assert first_forward.total == CLIP_FRAMES  # both passes: 6 forward (6..11) + 6 backward (5..0)
    assert first_forward.eta_s == pytest.approx((CLIP_FRAMES - 1) / first_forward.fps)
    last_forward = [u for u in updates if u.phase == "forward"][-1]
    assert last_forward.done == 6 and last_forward.eta_s > 0  # the backward pass is still to come
    assert "pass 1 of 2" in last_forward.note and "pass 2 of 2" in updates[-1].note
    assert all(u.preview is not None for u in updates)  # the preview has its frame in both passes


def test_recent_rate_follows_a_slower_pass():
    from xmem_demo.app.clip_tab.tracking import RecentRate

    rate = RecentRate(0.0, window=10)
    for t in range(1, 21):  # 1 frame per second
        rate.tick(float(t))
    assert rate.fps == pytest.approx(1.0)
    for t in range(1, 11):  # then 1 frame every 2 s: the rate follows within one window
        rate.tick(20.0 + 2 * t)
    assert rate.fps == pytest.approx(0.5)
    assert rate.eta(10) == pytest.approx(20.0)
