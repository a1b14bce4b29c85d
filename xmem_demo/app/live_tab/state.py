"""One visitor's Live tab, without Gradio: camera frames in, a frozen frame to click, the tracker.

Phases: "waiting" (no camera frame yet) -> "preview" (frames arrive, no target) ->
"annotating" (a frame is frozen; clicks make the target) -> "tracking" (every frame that
arrives is segmented) -> "stopped" (downloads ready). Freezing during tracking pauses it
(re-annotation keeps the memory); "reset memory" empties the memory and restarts from the
last annotation.

Newest wins, measured in the browser (benchmarks/live_browser.py): the page sends a camera
frame every `stream_every` seconds whether or not the last one was answered; Gradio's stream
keeps one pending chunk per visitor and a newer chunk replaces it, so while a frame is being
segmented the frames sent meanwhile replace each other and only the newest is taken next.
`frames_dropped_estimate` counts them (frames the page sent at its cadence minus frames that
reached `on_frame`). A frame that reaches `on_frame` while the session is busy with an action
(Track, Freeze) is dropped too (`frames_skipped`). Everything a visitor holds lives in this object (in a `gr.State`);
`close()` frees it: the tracker's memory, the frames, the recording's folder.
"""

from __future__ import annotations

import shutil
import threading
import time
import weakref
from pathlib import Path
from typing import Callable

import numpy as np

from ...errors import UserError
from ...live import FrameError, LiveConfig, LiveDownloads, LiveRecorder, LiveResult, LiveTracker, as_rgb_frame, cap_frame_size
from ...live.tracker import SizeChoice, choose_processing_size
from ...checkpoint import WeightsInfo
from ...model import XMem
from ...clicks import Click, ClickSession, choose_segmenter
from ..limits import LIMITS, LiveLimits
from ..render import annotated_view, display_scale


class LiveSession:
    """Everything one visitor's Live tab holds (see the module docstring)."""

    def __init__(
        self,
        folder: str | Path,
        limits: LiveLimits = LIMITS,
        segmenter: Callable[[], object] = choose_segmenter,
    ) -> None:
        self.folder = Path(folder)
        self.limits = limits
        self._segmenter = segmenter
        self.lock = threading.Lock()  # one frame or one action at a time
        self.phase = "waiting"
        self.latest: np.ndarray | None = None  # newest camera frame (capped)
        self.latest_at = 0.0
        self.frames_received = 0
        self.frames_skipped = 0  # reached on_frame while an action held the session: dropped, never queued
        self.first_frame_at: float | None = None
        self.frozen: np.ndarray | None = None
        self.freezes = 0  # frozen frames so far (the click model's cache key)
        self.click_session = ClickSession()  # the same click-to-mask state as the Clip tab's
        self.objects: list[int] = [1]
        self.active = 1
        self.clicks: dict[int, list[Click]] = {}
        self.masks: dict[int, np.ndarray] = {}
        self.tracker: LiveTracker | None = None
        self.recorder: LiveRecorder | None = None
        self.downloads: LiveDownloads | None = None
        self.last_result: LiveResult | None = None
        self.model_label = ""
        self.runs = 0
        self.closed = False
        self.error = ""

    # ---- camera frames ----------------------------------------------------------------------
    def on_frame(self, frame: object) -> LiveResult | np.ndarray | None:
        """A camera frame arrived. Returns the segmented result while tracking, the (capped)
        frame otherwise, or None when it was dropped (busy, or closed)."""
        if self.closed or not self.lock.acquire(blocking=False):
            self.frames_skipped += 1
            return None
        try:
            if self.closed:
                return None
            image = cap_frame_size(as_rgb_frame(frame), self.limits.max_side)
            self.latest, self.latest_at = image, time.monotonic()
            self.frames_received += 1
            if self.first_frame_at is None:
                self.first_frame_at = self.latest_at
            if self.phase == "waiting":
                self.phase = "preview"
            if self.phase != "tracking":
                return image
            result = self.tracker.step(image, self.latest_at, self.frames_dropped_estimate)
            self._record(result)
            return result
        finally:
            self.lock.release()

    @property
    def frames_sent_estimate(self) -> int:
        """Frames the page sent since the first one arrived (one per `stream_every_s`)."""
        if self.first_frame_at is None:
            return 0
        return max(self.frames_received, 1 + int((self.latest_at - self.first_frame_at) / self.limits.stream_every_s))

    @property
    def frames_dropped_estimate(self) -> int:
        """Frames the page sent (one per `stream_every_s` since the first arrived) that were never
        segmented: replaced by newer ones in Gradio's one-chunk stream, or skipped while busy."""
        if self.first_frame_at is None:
            return 0
        sent = 1 + int((self.latest_at - self.first_frame_at) / self.limits.stream_every_s)
        return max(0, sent - self.frames_received) + self.frames_skipped

    def _record(self, result: LiveResult) -> None:
        self.last_result = result
        if self.recorder is not None:
            self.recorder.add(result, time.monotonic() - result.latency_s)

    # ---- annotation -------------------------------------------------------------------------
    def freeze(self) -> None:
        """Hold the newest camera frame for clicking (tracking, if running, pauses)."""
        with self.lock:
            if self.latest is None:
                raise UserError("no camera frame yet: allow the camera and press Record in the camera box first")
            self.frozen = self.latest.copy()
            self.click_session.forget(self.freezes)
            self.freezes += 1
            self.clicks, self.masks = {}, {}
            self.phase = "annotating"

    def _require_frozen(self) -> np.ndarray:
        if self.frozen is None:
            raise UserError("freeze a frame first (the ❄ Freeze button), then click the object on it")
        return self.frozen

    @property
    def display_scale(self) -> float:
        frame = self._require_frozen()
        return display_scale(frame.shape[1], frame.shape[0], self.limits.display_side)

    def click(self, x: float, y: float, positive: bool, on_display: bool = True) -> None:
        """A click on the frozen frame (display pixels if on_display, else frame pixels)."""
        with self.lock:
            frame = self._require_frozen()
            h, w = frame.shape[:2]
            if on_display:
                s = self.display_scale
                x, y = x / s, y / s
            if not (0 <= x < w + 1 and 0 <= y < h + 1):
                raise UserError(f"click at ({x:.0f}, {y:.0f}) lies outside the {w}×{h} frame")
            clicks = self.clicks.setdefault(self.active, [])
            clicks.append(Click(int(min(x, w - 1)), int(min(y, h - 1)), bool(positive)))
            prediction = self.click_session.step(
                self._segmenter(), frame, ("live", self.freezes), self.freezes, self.active, clicks
            )
            self.masks[self.active] = prediction.mask

    def undo(self) -> None:
        with self.lock:
            frame = self._require_frozen()
            clicks = self.clicks.get(self.active)
            if not clicks:
                raise UserError(f"no click to undo for object {self.active}")
            clicks.pop()
            prediction = self.click_session.undo(
                self._segmenter(), frame, ("live", self.freezes), self.freezes, self.active, clicks
            )
            if clicks and prediction is not None:
                self.masks[self.active] = prediction.mask
            else:
                self.clicks.pop(self.active)
                self.masks.pop(self.active, None)

    def clear(self) -> None:
        with self.lock:
            self.click_session.forget(self.freezes)
            self.clicks, self.masks = {}, {}

    def add_object(self) -> int:
        with self.lock:
            if len(self.objects) >= self.limits.max_objects:
                raise UserError(f"at most {self.limits.max_objects} objects can be tracked live")
            new = next(i for i in range(1, self.limits.max_objects + 1) if i not in self.objects)
            self.objects.append(new)
            self.objects.sort()
            self.active = new
            return new

    def select_object(self, obj_id: int | str | None) -> None:
        if obj_id in (None, "") or int(obj_id) not in self.objects:
            raise UserError(f"there is no object {obj_id}")
        self.active = int(obj_id)

    def labels(self) -> np.ndarray:
        """The frozen frame's label map from the clicks (later objects win where they overlap)."""
        frame = self._require_frozen()
        out = np.zeros(frame.shape[:2], np.uint8)
        for obj_id in sorted(self.masks):
            out[self.masks[obj_id]] = obj_id
        return out

    def frozen_view(self) -> np.ndarray | None:
        """The frozen frame with the target overlaid and the active object's clicks, at display size."""
        if self.frozen is None:
            return None
        labels = self.labels()
        return annotated_view(self.frozen, labels if labels.any() else None, self.clicks.get(self.active, []), self.display_scale)

    # ---- tracking ---------------------------------------------------------------------------
    def track(self, model: XMem, processing_size: int | None = None, *, weights: WeightsInfo) -> LiveResult:
        """Start tracking from the frozen frame's target, or apply it as a correction.

        weights: what `model` was loaded from (`app.models.get_model`); its label is shown.
        """
        with self.lock:
            frame = self._require_frozen()
            labels = self.labels()
            if not labels.any():
                raise UserError("no target yet: click the object on the frozen frame (include +) first")
            if self.tracker is not None and self.tracker.model is not model:
                self._end_tracker()  # other weights were picked: a new session
            if self.tracker is None:
                cfg = LiveConfig(max_side=self.limits.max_side, processing_size=processing_size)
                size: SizeChoice = choose_processing_size(model, cfg, frame.shape[:2])
                self.tracker = LiveTracker(model, cfg, size)
                self.model_label = weights.label
                self.runs += 1
                self.recorder = LiveRecorder(self.folder / f"run-{self.runs}", fps=cfg.target_fps,
                                             max_frames=self.limits.max_recorded_frames)
                self.downloads = None
                result = self.tracker.start(frame, labels)
            else:
                result = self.tracker.correct(frame, labels)
            self._record(result)
            self.phase = "tracking"
            return result

    def reset_memory(self) -> LiveResult:
        with self.lock:
            if self.tracker is None:
                raise UserError("not tracking: nothing to reset")
            result = self.tracker.reset_memory()
            self._record(result)
            self.phase = "tracking"
            return result

    def stop(self) -> LiveDownloads:
        """End the live session: its downloads are written, its memory freed."""
        with self.lock:
            if self.tracker is None or self.recorder is None:
                raise UserError("not tracking: press ▶ Track first")
            stats = self.tracker.stats
            info = {"model": self.model_label, "processing_size": stats.processing_size,
                    "processing_size_reason": self.tracker.size.reason, "frames_segmented": stats.frames,
                    "frames_received": self.frames_received, "frames_dropped_estimate": self.frames_dropped_estimate,
                    "fps": round(stats.fps, 2),
                    "latency_ms": round(1000 * stats.latency_s, 1), "memory": self.tracker.config.memory.__dict__}
            self.downloads = self.recorder.finish(info)
            self.recorder = None
            self._end_tracker()
            self.phase = "stopped"
            return self.downloads

    def _end_tracker(self) -> None:
        if self.recorder is not None:
            self.recorder.discard()
            self.recorder = None
        if self.tracker is not None:
            self.tracker.close()
            self.tracker = None

    # ---- the end ----------------------------------------------------------------------------
    def close(self) -> None:
        """Free everything (the tab was closed): memory, frames, recordings and their folder."""
        with self.lock:
            self._end_tracker()
            self.latest = self.frozen = None
            self.last_result = None
            self.clicks, self.masks = {}, {}
            self.click_session = ClickSession()  # drops the click model's image embeddings
            self.downloads = None
            shutil.rmtree(self.folder, ignore_errors=True)
            self.closed = True  # last: `closed` means everything above is done


class LiveRegistry:
    """The app's live sessions by Gradio session hash, held weakly (the visitor's gr.State owns
    them), so that the page's unload event, which receives no state, can free them at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: weakref.WeakValueDictionary[str, LiveSession] = weakref.WeakValueDictionary()

    def add(self, session_hash: str, session: LiveSession) -> None:
        with self._lock:
            self._sessions[session_hash] = session

    def close(self, session_hash: str) -> bool:
        """Free the visitor's session (waits for a frame being segmented to finish)."""
        with self._lock:
            session = self._sessions.get(session_hash)
        if session is None:
            return False
        session.close()
        with self._lock:
            self._sessions.pop(session_hash, None)
        return True

    def get(self, session_hash: str) -> LiveSession | None:
        with self._lock:
            return self._sessions.get(session_hash)

    def open_sessions(self) -> list[str]:
        with self._lock:
            return [h for h, s in self._sessions.items() if not s.closed]


def close_live_session(session: object) -> None:
    """gr.State's delete callback."""
    if isinstance(session, LiveSession):
        session.close()


__all__ = ["LiveSession", "LiveRegistry", "close_live_session", "FrameError"]
