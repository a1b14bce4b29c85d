"""`VideoSource`: a clip's frames by index or as a stream, whatever decodes them.

The source checks what the caller asks for (the frame range, the stream's arguments) and
leaves decoding to the reader `choose_reader` picked; memory holds at most one batch of
frames while streaming, however long the clip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .choose import choose_reader
from .readers import READ_BATCH, FrameReader


class VideoSource:
    """Random and streaming access to a clip's RGB frames (H x W x 3 uint8).

    `backend` says what decodes: "pyav", "decord", "opencv" (damaged files), "pillow" (GIF, frame folders);
    `damage` is set when only part of a damaged file can be decoded.
    """

    def __init__(self, path: str | Path, check_end: bool = True) -> None:
        """check_end: decode the last frame at open, so that a truncated file is found now (and
        read up to its last decodable frame) rather than failing mid-run."""
        self.path = Path(path)
        self.check_end = check_end
        self.reader: FrameReader = choose_reader(self.path, check_end)
        self.info = self.reader.info
        self.backend = self.reader.backend
        self.damage = self.reader.damage

    def __len__(self) -> int:
        return self.info.num_frames

    def get(self, index: int) -> np.ndarray:
        """Frame `index` as H x W x 3 uint8 RGB (decoded now; raises VideoError if it cannot be)."""
        if not 0 <= index < len(self):
            raise IndexError(f"frame {index} outside 0..{len(self) - 1}")
        return self.reader.get(index)

    def iter_frames(
        self, start: int = 0, stop: int | None = None, step: int = 1, batch: int = READ_BATCH
    ) -> Iterator[np.ndarray]:
        """Frames start, start+step, ... (< stop), decoded on demand: at most `batch` frames are held at once."""
        if start < 0 or step < 1 or batch < 1:
            raise ValueError(f"iter_frames needs start >= 0, step >= 1 and batch >= 1 (got {start}, {step}, {batch})")
        stop = len(self) if stop is None else min(stop, len(self))
        indices = range(start, stop, step)
        for k in range(0, len(indices), batch):
            yield from self.reader.get_batch(indices[k : k + batch])

    def close(self) -> None:
        self.reader.close()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_video(path: str | Path, check_end: bool = True) -> VideoSource:
    """Open a video file, a GIF or a folder of frames; raises VideoError with the reason.

    check_end=False skips decoding the last frame (for a clip already checked once)."""
    return VideoSource(path, check_end=check_end)
