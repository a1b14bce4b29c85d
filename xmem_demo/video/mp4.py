"""Writing H.264 MP4 that browsers play (yuv420p, index first), through PyAV's FFmpeg.

PyAV's wheels bundle FFmpeg with libx264 on Linux, macOS and Windows (x86 and ARM), so the
same encoder runs everywhere the package installs; no separate ffmpeg executable is needed.
"""

from __future__ import annotations

import functools
from fractions import Fraction
from pathlib import Path

import numpy as np

# MP4 encoders in order of preference. PyAV's wheels have libx264; the others are fallbacks
# for a PyAV built against an unusual FFmpeg (mpeg4 is not H.264: browsers may not play it).
MP4_ENCODERS = ("libx264", "libopenh264", "mpeg4")


@functools.lru_cache(maxsize=1)
def mp4_encoder() -> str:
    """The first of MP4_ENCODERS that PyAV's FFmpeg provides (checked once)."""
    import av

    for encoder in MP4_ENCODERS:
        if encoder in av.codecs_available:
            return encoder
    return MP4_ENCODERS[0]  # let FFmpeg report the problem when writing


def _quality_options(encoder: str, crf: int) -> dict[str, str]:
    if encoder == "libx264":
        return {"crf": str(crf), "preset": "medium"}
    if encoder == "mpeg4":
        return {"qscale": "3"}
    return {"b": "4M"}


class Mp4Writer:
    """Write RGB frames to an MP4 that browsers play: H.264 (libx264), yuv420p, moov atom first.

    Odd widths and heights are padded to even with black (yuv420p needs even sizes). Use as a
    context manager; the file is complete once closed. `encoder` names the codec used.
    """

    def __init__(self, path: str | Path, fps: float = 24.0, crf: int = 20) -> None:
        self.path = Path(path)
        self.fps = float(fps) if fps and fps > 0 else 24.0
        self.crf = crf
        self.encoder = mp4_encoder()
        self._container = None
        self._stream = None
        self._size: tuple[int, int] | None = None
        self.frames_written = 0

    def _open(self, size: tuple[int, int]) -> None:
        import av

        self._size = size
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The suffix may be a temporary one (.part123.mp4 is fine, but say the format anyway).
        container = av.open(str(self.path), mode="w", format="mp4", options={"movflags": "+faststart"})
        # A rational rate: 29.97 fps is 30000/1001, as FFmpeg writes it.
        stream = container.add_stream(self.encoder, rate=Fraction(self.fps).limit_denominator(1001))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = _quality_options(self.encoder, self.crf)
        self._container, self._stream = container, stream

    def write(self, frame: np.ndarray) -> None:
        """Append one H x W x 3 uint8 RGB frame (gray H x W and RGBA are accepted too)."""
        import av

        frame = np.asarray(frame)
        if frame.dtype != np.uint8:
            raise ValueError(f"frames must be uint8, got {frame.dtype}")
        if frame.ndim == 2:
            frame = np.repeat(frame[..., None], 3, axis=2)
        if frame.ndim != 3 or frame.shape[2] not in (3, 4):
            raise ValueError(f"frames must be H x W x 3 RGB, got shape {frame.shape}")
        frame = frame[..., :3]
        h, w = frame.shape[:2]
        if self._container is None:
            self._open((w + w % 2, h + h % 2))
        if (w + w % 2, h + h % 2) != self._size:
            raise ValueError(f"frame size {w}x{h} differs from the video's {self._size[0]}x{self._size[1]}")
        if (w, h) != self._size:
            padded = np.zeros((self._size[1], self._size[0], 3), np.uint8)
            padded[:h, :w] = frame
            frame = padded
        picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        for packet in self._stream.encode(picture):
            self._container.mux(packet)
        self.frames_written += 1

    def close(self) -> None:
        """Finish the file (flush the encoder; the index is written and moved to the front)."""
        if self._container is not None:
            try:
                for packet in self._stream.encode(None):
                    self._container.mux(packet)
            finally:
                self._container.close()
                self._container = self._stream = None

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
