"""What every frame reader offers (`FrameReader`), and the facts of a clip (`VideoInfo`).

    reader = choose_reader(path)             # a PyAVReader, DecordReader, DamagedVideoReader,
                                             # GifReader or FrameFolderReader
    frame = reader.get(10)                   # H x W x 3 uint8 RGB, decoded now
    frames = reader.get_batch([10, 11, 12])  # the same frames, decoded together where the decoder can

Each reader knows one decoder (pyav_files.py: PyAV; video_files.py: decord, OpenCV;
image_files.py: Pillow) and nothing about choosing: which reader serves which file is
decided in one place, `choose.choose_reader`. Readers trust their caller with the index (`VideoSource.get` checks
the range) and raise `VideoError` naming the file when a frame cannot be decoded.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

FRAME_EXTENSIONS = (".jpg", ".jpeg", ".png")
READ_BATCH = 16  # frames decord decodes per get_batch call while streaming (and PyAV's and OpenCV's forward-read reach)
DEFAULT_FPS = 24.0  # for a folder of frames (it has no frame rate) and files that announce none


@dataclass(frozen=True)
class VideoInfo:
    """What a clip is, known once it is opened (before any frame but the first is decoded)."""

    path: str
    num_frames: int  # frames that can be read (a damaged file: its decodable start)
    fps: float  # as the file says; DEFAULT_FPS for frame folders and files that say nothing
    width: int
    height: int
    kind: Literal["video", "frames", "gif"]

    def describe(self) -> str:
        seconds = self.num_frames / self.fps if self.fps else 0
        return f"{self.num_frames} frames, {self.width}x{self.height}, {self.fps:.3g} fps ({seconds:.1f} s)"


class FrameReader(Protocol):
    """What `VideoSource` needs from a decoder: the clip's facts and frames by index."""

    backend: str  # what decodes: "pyav", "decord", "opencv" or "pillow" (for diagnostics and tests)
    info: VideoInfo
    damage: str | None  # set when only part of a damaged file can be decoded, in the user's terms

    def get(self, index: int) -> np.ndarray: ...

    def get_batch(self, indices: Sequence[int]) -> Iterator[np.ndarray]: ...

    def close(self) -> None: ...


class DecoderFailed(Exception):
    """A decoder could not read the file as a whole (truncated or corrupt); `reason` is its first
    line. `choose_reader` then reads the file's decodable start (DamagedVideoReader)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OneByOne:
    """Readers whose decoder has no batch call: a batch is frames decoded one at a time, lazily."""

    damage: str | None = None

    def get_batch(self, indices: Sequence[int]) -> Iterator[np.ndarray]:
        for i in indices:
            yield self.get(i)


def first_line(err: BaseException) -> str:
    """A decoder's message cut to its first line (decord's carry C++ source locations below it)."""
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:160]
