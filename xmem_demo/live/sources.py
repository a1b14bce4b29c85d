"""Live sources: a camera (OpenCV `VideoCapture`), or a clip played as if it were one.

Both are iterables of `LiveFrame`s that never hand out an old frame when a newer one exists:

- `CameraSource` reads the camera on a background thread as fast as it delivers and keeps
  only the newest frame (`LatestFrame`); a frame replaced before the tracker took it is
  dropped. (Reading in the tracker's own loop would get the frames OpenCV buffered, ever
  further behind the scene.)
- `ClipPlayer` plays a video file in real time at its own frame rate: when the tracker asks
  for the next frame it gets the frame on screen *now*, skipping the ones whose time has
  passed. Where there is no camera (CI, a server), this behaves like one.

`open_live_source(camera, clip)` tries the camera, then falls back to the clip.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from ..video import open_video
from .frames import LatestFrame, LiveFrame, cap_frame_size, capped_size


class ClipPlayer:
    """A clip delivered like a camera: frame i appears at start + i / fps (real time).

    fps: playback rate (default: the clip's own). loop: start over at the end (a camera
    never ends), else stop after the last frame. duration_s: stop after this much playing
    time. max_side: frames are shrunk to this long side. `clock` and `sleep` can be replaced
    (tests use a fake clock). Decoded frames are kept for clips of up to `cache_frames` frames.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        fps: float | None = None,
        loop: bool = True,
        duration_s: float | None = None,
        max_side: int | None = None,
        cache_frames: int = 600,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.video = open_video(path)
        self.info = self.video.info
        self.fps = float(fps or self.info.fps or 24.0)
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.loop = loop
        self.duration_s = duration_s
        self.max_side = max_side
        self.clock, self.sleep = clock, sleep
        self._cache: dict[int, np.ndarray] | None = {} if len(self.video) <= cache_frames else None
        self.delivered = 0  # frames handed to the consumer
        self.dropped = 0  # frames whose time passed while the consumer was busy
        self.description = f"clip {Path(path).name} played at {self.fps:.3g} fps ({self.info.width}x{self.info.height})"
        hw = (self.info.height, self.info.width)
        self.frame_hw = capped_size(hw, max_side) if max_side else hw  # (H, W) of the frames handed out

    def _frame(self, index: int) -> np.ndarray:
        i = index % len(self.video)
        if self._cache is not None and i in self._cache:
            return self._cache[i]
        frame = self.video.get(i)
        if self.max_side:
            frame = cap_frame_size(frame, self.max_side)
        if self._cache is not None:
            self._cache[i] = frame
        return frame

    def __iter__(self) -> Iterator[LiveFrame]:
        start = self.clock()
        last = -1
        n = len(self.video)
        while True:
            elapsed = self.clock() - start
            if self.duration_s is not None and elapsed >= self.duration_s:
                return
            due = int(elapsed * self.fps + 1e-6)  # the frame on screen now (1e-6: float round-off)
            if not self.loop and due >= n:
                self.dropped += max(0, n - 1 - last)
                return
            if due <= last:  # the consumer is faster than the clip: wait for the next frame
                self.sleep(max(0.0, (last + 1) / self.fps - elapsed))
                continue
            self.dropped += due - last - 1
            last = due
            self.delivered += 1
            yield LiveFrame(self._frame(due), due, start + due / self.fps)

    def close(self) -> None:
        self.video.close()


class CameraSource:
    """An OpenCV camera read on a background thread; iterating yields the newest frames.

    index: the camera (0 = the default one). max_side: frames are shrunk to this long side.
    Raises OSError when the camera cannot be opened. Use as a context manager (or `close()`).
    """

    def __init__(self, index: int = 0, *, max_side: int | None = None, read_timeout_s: float = 5.0) -> None:
        self.capture = cv2.VideoCapture(index)
        if not self.capture.isOpened():
            self.capture.release()
            raise OSError(f"no camera at index {index}")
        ok, first = self.capture.read()
        if not ok or first is None:
            self.capture.release()
            raise OSError(f"camera {index} opened but delivered no frame")
        self.max_side = max_side
        self.read_timeout_s = read_timeout_s
        self.slot = LatestFrame()
        self.fps = float(self.capture.get(cv2.CAP_PROP_FPS) or 0) or 30.0
        h, w = first.shape[:2]
        self.description = f"camera {index} ({w}x{h}, {self.fps:.3g} fps announced)"
        self.frame_hw = capped_size((h, w), max_side) if max_side else (h, w)  # (H, W) of the frames handed out
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read_loop, name=f"camera-{index}", daemon=True)
        self._thread.start()

    def _read_loop(self) -> None:
        index = 0
        while not self._stop.is_set():
            ok, bgr = self.capture.read()
            if not ok or bgr is None:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            if self.max_side:
                rgb = cap_frame_size(rgb, self.max_side)
            self.slot.put(LiveFrame(rgb, index, time.monotonic()))
            index += 1
        self.slot.close()

    @property
    def delivered(self) -> int:
        return self.slot.offered - self.slot.dropped

    @property
    def dropped(self) -> int:
        return self.slot.dropped

    def __iter__(self) -> Iterator[LiveFrame]:
        while True:
            frame = self.slot.take(timeout=self.read_timeout_s)
            if frame is None:
                return
            yield frame

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self.capture.release()
        self.slot.close()

    def __enter__(self) -> CameraSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_live_source(
    camera: int | None, clip: str | Path, **clip_options
) -> CameraSource | ClipPlayer:
    """The camera if one opens (camera=None: do not try), else the clip played in real time."""
    if camera is not None:
        try:
            return CameraSource(camera, max_side=clip_options.get("max_side"))
        except OSError:
            pass
    return ClipPlayer(clip, **clip_options)
