"""Video files through PyAV (FFmpeg's libraries, wheels for Linux, macOS and Windows on x86 and ARM).

The default decoder: PyAV has wheels everywhere Python runs, so `pip install xmem-demo` works
on a Mac, on Windows and on Linux ARM. decord (video_files.py) is used instead where it is
installed, because it is faster at random access; both decode through FFmpeg and the same
yuv420p -> RGB conversion, and give the same frames (tests/test_video.py checks it byte for
byte on the bundled clip).

Random access needs to know which presentation time stamp (pts) is frame i. Opening the file
demuxes every packet of the video stream once (reads the compressed data, decodes nothing)
and sorts their pts: frame i is the i-th smallest. This is what makes `get(i)` exact for
any container and for variable frame rates, at the cost of reading the file once at open.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..errors import VideoError
from .readers import DEFAULT_FPS, READ_BATCH, DecoderFailed, OneByOne, VideoInfo, first_line


class PyAVReader(OneByOne):
    """Video files through PyAV: exact random access by pts, cheap sequential reads.

    Opening indexes the packets and decodes the first frame and, with `check_end`, the last
    one, so that a truncated file is found now rather than mid-run (raises `DecoderFailed`).
    Reading forward (within READ_BATCH frames) continues decoding; any other jump seeks to
    the keyframe before the frame and decodes up to it.
    """

    backend: ClassVar[str] = "pyav"

    def __init__(self, path: Path, check_end: bool = True) -> None:
        import av

        self.path = path
        self._container = None
        try:
            container = av.open(str(path))
        except av.FFmpegError as err:
            raise DecoderFailed(first_line(err)) from None
        self._container = container
        if not container.streams.video:
            self.close()
            raise VideoError(f"'{path.name}': the file has no video stream (no frames)")
        self._stream = container.streams.video[0]
        try:
            stamps = sorted({p.pts for p in container.demux(self._stream) if p.size and p.pts is not None})
        except av.FFmpegError as err:
            self.close()
            raise DecoderFailed(first_line(err)) from None
        if not stamps:
            self.close()
            raise VideoError(f"'{path.name}': the video has no frames")
        self._pts = stamps
        self._index = {pts: i for i, pts in enumerate(stamps)}
        self._frames: Iterator | None = None  # the running decoder, positioned after frame _next - 1
        self._next = -1
        try:
            first = self.get(0)
            if len(stamps) > 1 and check_end:
                self.get(len(stamps) - 1)  # a truncated file fails here, not at a random frame mid-run
        except VideoError as err:
            self.close()
            raise DecoderFailed(str(err)) from None
        rate = self._stream.average_rate or self._stream.guessed_rate
        fps = float(rate) if rate else DEFAULT_FPS
        self.info = VideoInfo(str(path), len(stamps), fps, first.shape[1], first.shape[0], "video")

    def _seek(self, index: int) -> None:
        """Position the decoder at the keyframe at or before frame `index`."""
        self._container.seek(self._pts[index], stream=self._stream, backward=True, any_frame=False)
        self._frames = self._container.decode(self._stream)
        self._next = -1  # unknown until a frame is decoded

    def get(self, index: int) -> np.ndarray:
        import av

        if self._frames is None or not self._next <= index < self._next + READ_BATCH:
            self._seek(index)
        target = self._pts[index]
        try:
            for frame in self._frames:
                if frame.pts is None:
                    continue
                self._next = self._index.get(frame.pts, self._next) + 1
                if frame.pts == target:
                    return frame.to_ndarray(format="rgb24")
                if frame.pts > target:
                    break
        except av.FFmpegError as err:
            self._frames = None
            raise VideoError(f"'{self.path.name}': cannot decode frame {index} ({first_line(err)})") from None
        self._frames = None
        raise VideoError(f"'{self.path.name}': cannot decode frame {index}")

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
            self._frames = None
