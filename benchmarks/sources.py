"""Streamed frame sources for the long-video benchmark.

A source yields (frame, first-frame mask or None) for t = 0 .. num_frames-1, one frame at a
time, already at the working resolution: no source ever holds the whole video in memory.

* `synthetic[:SEED]` - `xmem_demo.synthetic.SyntheticClip`, rendered directly at the working
  size (random access, any length; the clip is the requested number of frames long).
* a video file or frame folder - decoded frame by frame with `xmem_demo.video.VideoSource`,
  played forward and back (ping-pong) as often as needed, resized to the working size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

DEFAULT_SYNTHETIC_SEED = 1_000_007  # in the held-out range (never used for training)


def pingpong(t: int, n: int) -> int:
    """Index of position t in 0, 1, ..., n-1, n-2, ..., 1, 0, 1, ... (n frames)."""
    if n == 1:
        return 0
    period = 2 * n - 2
    r = t % period
    return r if r < n else period - r


@dataclass
class SourceInfo:
    name: str
    height: int
    width: int
    num_objects: int
    description: str


class SyntheticSource:
    def __init__(self, num_frames: int, short_side: int, seed: int = DEFAULT_SYNTHETIC_SEED,
                 objects: int = 2, aspect: float = 4 / 3) -> None:
        from xmem_demo.synthetic import make_clip

        h = short_side
        w = int(round(short_side * aspect))
        self.clip = make_clip(seed, height=h, width=w, num_frames=num_frames, num_objects=objects)
        self.num_frames = num_frames
        self.info = SourceInfo(
            f"synthetic:{seed}", h, w, self.clip.num_objects,
            f"xmem_demo.synthetic clip (seed {self.clip.seed}, {objects} objects, {h}x{w}, rendered per frame)",
        )

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        for t in range(self.num_frames):
            frame, mask = self.clip.frame(t)
            yield frame, (mask if t == 0 else None)


class LoopedVideoSource:
    """A real clip, decoded one frame at a time and looped ping-pong to `num_frames`."""

    def __init__(self, path: str | Path, num_frames: int, short_side: int | None, mask_path: str | Path) -> None:
        import cv2

        from xmem_demo.video import VideoSource, read_index_mask, resize_short_side

        self.video = VideoSource(path)
        self.num_frames = num_frames
        self.short_side = short_side
        self._resize = resize_short_side
        first = resize_short_side(self.video.get(0), short_side)
        mask = read_index_mask(mask_path)
        if mask.shape[:2] != first.shape[:2]:
            mask = cv2.resize(mask, (first.shape[1], first.shape[0]), interpolation=cv2.INTER_NEAREST)
        self.mask = mask
        labels = [int(v) for v in np.unique(mask) if v != 0]
        n = len(self.video)
        self.info = SourceInfo(
            Path(path).name, first.shape[0], first.shape[1], len(labels),
            f"{Path(path).name} ({n} frames) looped ping-pong, resized to {first.shape[0]}x{first.shape[1]}, "
            f"mask {Path(mask_path).name}",
        )

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        n = len(self.video)
        for t in range(self.num_frames):
            frame = self._resize(self.video.get(pingpong(t, n)), self.short_side)
            yield np.ascontiguousarray(frame), (self.mask if t == 0 else None)


def open_source(spec: str, num_frames: int, short_side: int, mask: str | None = None, objects: int = 2):
    """'synthetic', 'synthetic:SEED', or a path to a video / frame folder (needs `mask`)."""
    if spec == "synthetic" or spec.startswith("synthetic:"):
        seed = int(spec.split(":", 1)[1]) if ":" in spec else DEFAULT_SYNTHETIC_SEED
        return SyntheticSource(num_frames, short_side, seed, objects)
    if mask is None:
        raise SystemExit(f"--mask is required with a real clip ({spec})")
    return LoopedVideoSource(spec, num_frames, short_side, mask)
