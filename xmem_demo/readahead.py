"""Reading a video backwards at forward speed.

Video codecs store most frames as differences from earlier ones: a decoder reaches frame t by
decoding forward from the keyframe before it. Asking for t, then t - 1, t - 2, ... (XMem's
backward pass) makes the decoder seek back to that keyframe and decode forward again for
every single frame: with a keyframe every 60 frames that is ~30 decodes per frame (on a
1280x720 clip, 0.81 s per frame against 0.032 s forward, measured with
benchmarks/backward_read.py).

`ReverseReadahead` serves a backward walk from forward reads: when a frame is missing it
decodes the `window` frames that end at it in forward order (one seek per window) and hands
them out as they are asked for, each frame once. Random access and forward walks pass
straight through.
"""

from __future__ import annotations

import numpy as np

READAHEAD_BYTES = 256 * 2**20  # frames held at most by one backward window (720p: 64 frames; 4K: 10)
MAX_WINDOW = 64


def readahead_window(frame_bytes: int, budget: int = READAHEAD_BYTES, max_window: int = MAX_WINDOW) -> int:
    """Frames per backward window for frames of `frame_bytes` bytes: within `budget`, 2..max_window."""
    return int(max(2, min(max_window, budget // max(int(frame_bytes), 1))))


class ReverseReadahead:
    """A FrameSource (len, get) in front of another that makes backward walks cheap."""

    def __init__(self, source, window: int = 32) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.source = source
        self.window = int(window)
        self._ahead: dict[int, np.ndarray] = {}  # decoded, not handed out yet
        self._last: int | None = None
        self.windows_read = 0  # how many forward windows were decoded (for tests and profiling)

    def __len__(self) -> int:
        return len(self.source)

    def get(self, index: int) -> np.ndarray:
        frame = self._ahead.pop(index, None)
        backward = self._last is not None and index == self._last - 1
        self._last = index
        if frame is not None:
            return frame
        if not backward:
            self._ahead.clear()
            return self.source.get(index)
        lo = max(0, index - self.window + 1)
        self._ahead = {i: self.source.get(i) for i in range(lo, index + 1)}  # forward: one seek
        self.windows_read += 1
        return self._ahead.pop(index)
