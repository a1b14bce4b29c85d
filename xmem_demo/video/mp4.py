"""Writing H.264 MP4 that browsers play (yuv420p, index first), through imageio-ffmpeg's ffmpeg."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import numpy as np

# MP4 encoders in order of preference. The ffmpeg bundled with imageio-ffmpeg has libx264;
# the others are fallbacks for unusual ffmpeg builds (mpeg4 is not H.264: browsers may not play it).
MP4_ENCODERS = ("libx264", "libopenh264", "mpeg4")


@functools.lru_cache(maxsize=1)
def mp4_encoder() -> str:
    """The first of MP4_ENCODERS that the ffmpeg of imageio-ffmpeg provides (checked once)."""
    import imageio_ffmpeg

    try:
        listing = subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-encoders"],
            capture_output=True, text=True, timeout=60, check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return MP4_ENCODERS[0]
    names = {line.split()[1] for line in listing.splitlines() if len(line.split()) > 1}
    for encoder in MP4_ENCODERS:
        if encoder in names:
            return encoder
    return MP4_ENCODERS[0]  # let ffmpeg report the problem when writing


def _quality_params(encoder: str, crf: int) -> list[str]:
    if encoder == "libx264":
        return ["-crf", str(crf), "-preset", "medium"]
    if encoder == "mpeg4":
        return ["-q:v", "3"]
    return ["-b:v", "4M"]


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
        self._writer = None
        self._size: tuple[int, int] | None = None
        self.frames_written = 0

    def write(self, frame: np.ndarray) -> None:
        """Append one H x W x 3 uint8 RGB frame (gray H x W and RGBA are accepted too)."""
        import imageio_ffmpeg

        frame = np.asarray(frame)
        if frame.dtype != np.uint8:
            raise ValueError(f"frames must be uint8, got {frame.dtype}")
        if frame.ndim == 2:
            frame = np.repeat(frame[..., None], 3, axis=2)
        if frame.ndim != 3 or frame.shape[2] not in (3, 4):
            raise ValueError(f"frames must be H x W x 3 RGB, got shape {frame.shape}")
        frame = frame[..., :3]
        h, w = frame.shape[:2]
        if self._writer is None:
            self._size = (w + w % 2, h + h % 2)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = imageio_ffmpeg.write_frames(
                str(self.path), self._size, fps=self.fps, codec=self.encoder, pix_fmt_out="yuv420p",
                output_params=[*_quality_params(self.encoder, self.crf), "-movflags", "+faststart"],
                macro_block_size=1,
            )
            self._writer.send(None)  # start ffmpeg
        if (w + w % 2, h + h % 2) != self._size:
            raise ValueError(f"frame size {w}x{h} differs from the video's {self._size[0]}x{self._size[1]}")
        if (w, h) != self._size:
            padded = np.zeros((self._size[1], self._size[0], 3), np.uint8)
            padded[:h, :w] = frame
            frame = padded
        self._writer.send(np.ascontiguousarray(frame))
        self.frames_written += 1

    def close(self) -> None:
        """Finish the file (ffmpeg writes the index and moves it to the front)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
