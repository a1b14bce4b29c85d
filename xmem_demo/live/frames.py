"""Frames for live tracking: checking and capping what a camera sends, and a newest-wins slot.

A camera delivers frames at its own rate (most webcams: 30 fps); XMem on a CPU segments
fewer per second. Queueing the surplus would make every result older than the one before
(the latency grows without bound), so live tracking keeps a single slot between the camera
and the tracker: a new frame replaces the one still waiting, and the replaced frame is
counted as dropped. The tracker always works on the newest picture, and the latency stays
about one frame's processing time plus at most one camera interval.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import UserError
from ..limits import MIN_SIDE  # smaller frames cannot be segmented (the network works on a stride-16 grid)


class FrameError(UserError, ValueError):
    """A frame that cannot be tracked (wrong shape, type or size), with what was received."""


@dataclass
class LiveFrame:
    """One picture from a live source."""

    image: np.ndarray  # H x W x 3 uint8 RGB
    index: int  # frame number at the source: a gap between two frames is frames dropped
    captured_at: float  # time.monotonic() when the source produced it


def as_rgb_frame(frame: object) -> np.ndarray:
    """An H x W x 3 uint8 RGB array from what a camera or browser sent, or a FrameError.

    Gray (H x W) frames are repeated to RGB; RGBA loses its alpha; float frames must be in [0, 1].
    """
    if frame is None:
        raise FrameError("no frame received (is the camera on?)")
    image = np.asarray(frame)
    if image.dtype == object:
        raise FrameError(f"a frame must be an image array, got {type(frame).__name__}")
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise FrameError(f"a frame must be H x W x 3 (RGB), got shape {tuple(image.shape)}")
    image = image[..., :3]
    if image.dtype != np.uint8:
        if not np.issubdtype(image.dtype, np.floating):
            raise FrameError(f"a frame must hold uint8 (0..255) or float (0..1) values, got {image.dtype}")
        if not np.isfinite(image).all():
            raise FrameError("the frame holds NaN or infinite values")
        image = (np.clip(image, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    h, w = image.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise FrameError(f"the frame is {w}x{h} pixels; live tracking needs at least {MIN_SIDE}x{MIN_SIDE}")
    return np.ascontiguousarray(image)


def cap_frame_size(frame: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink (never enlarge) so that the long side is at most `max_side` pixels."""
    h, w = capped_size(frame.shape[:2], max_side)
    if (h, w) == frame.shape[:2]:
        return frame
    return cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)


def capped_size(hw: tuple[int, int], max_side: int) -> tuple[int, int]:
    """The (H, W) that `cap_frame_size` gives a frame of size `hw`."""
    h, w = hw
    scale = max_side / max(h, w)
    if scale >= 1.0:
        return h, w
    return max(MIN_SIDE, round(h * scale)), max(MIN_SIDE, round(w * scale))


class LatestFrame:
    """A one-frame mailbox between a producer (camera thread) and a consumer (the tracker).

    `put` never blocks and never queues: it replaces a frame that is still waiting (and
    counts it in `dropped`). `take` waits for a frame that was not taken before.
    Thread-safe.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: LiveFrame | None = None
        self._closed = False
        self.offered = 0  # frames put
        self.dropped = 0  # frames replaced before anyone took them

    def put(self, frame: LiveFrame) -> None:
        with self._cond:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self.offered += 1
            self._cond.notify_all()

    def take(self, timeout: float | None = None) -> LiveFrame | None:
        """The newest frame not taken yet; None after `timeout` seconds or once closed and empty."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._frame is None and not self._closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            frame, self._frame = self._frame, None
            return frame

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Wake any waiting consumer; later `take`s return what is left, then None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
