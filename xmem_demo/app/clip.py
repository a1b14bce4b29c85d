"""Opening the visitor's clip: checks with specific messages, and frames decoded on demand."""

from __future__ import annotations

import os
from contextlib import closing
from pathlib import Path

import numpy as np

from ..resources import EXAMPLES_DIR
from ..video import MaskError as VideoMaskError
from ..video import VideoError, open_video, read_index_mask
from .limits import MASK_EXTENSIONS, MAX_FRAMES, MAX_SHORT_SIDE, MAX_SIDE, MAX_OBJECTS, VIDEO_EXTENSIONS
from .state import ClipInfo, UserError

EXAMPLES_ENV = "XMEM_DEMO_EXAMPLES"  # another folder of example clips (tests, classrooms)


def examples_dir() -> Path:
    return Path(os.environ.get(EXAMPLES_ENV) or EXAMPLES_DIR)


def example_clips(folder: Path | None = None) -> list[str]:
    """File names of the example clips offered in the UI."""
    folder = examples_dir() if folder is None else folder
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS)


def inspect_clip(path: str | Path, display_name: str | None = None) -> ClipInfo:
    """Open a clip once to read its size and length; refuse it with a reason if unusable."""
    path = Path(path)
    name = display_name or path.name
    if not path.exists():
        raise UserError(f"'{name}' was not found")
    if path.suffix.lower() not in VIDEO_EXTENSIONS:
        raise UserError(f"'{name}' is not a supported video: use one of {', '.join(VIDEO_EXTENSIONS)}")
    if path.stat().st_size == 0:
        raise UserError(f"'{name}' is an empty file (0 bytes)")
    try:
        with closing(open_video(path)) as source:
            info = source.info
            num_frames = len(source)
            if num_frames > 0:
                source.get(0)  # a file whose first frame cannot be decoded is refused now, not mid-run
    except VideoError as err:
        raise UserError(f"'{name}' cannot be read as a video: {err}") from None
    if num_frames <= 0:
        raise UserError(f"'{name}' contains no frames")
    if num_frames > MAX_FRAMES:
        raise UserError(
            f"'{name}' has {num_frames:,} frames; this app takes at most {MAX_FRAMES:,} frames. "
            "Cut the clip first (e.g. ffmpeg -ss START -t SECONDS -i in.mp4 out.mp4)."
        )
    long_side, short_side = max(info.width, info.height), min(info.width, info.height)
    if long_side > MAX_SIDE or short_side > MAX_SHORT_SIDE:
        raise UserError(
            f"'{name}' is {info.width}×{info.height}; this app takes up to {MAX_SIDE}×{MAX_SHORT_SIDE} (4K). "
            "Downscale it first (e.g. ffmpeg -i in.mp4 -vf scale=-2:1080 out.mp4)."
        )
    return ClipInfo(str(path), name, num_frames, float(info.fps or 0.0), int(info.width), int(info.height))


def read_frame(clip: ClipInfo, index: int) -> np.ndarray:
    """One frame, decoded now (frames are never kept in the visitor's state)."""
    index = min(max(int(index), 0), clip.num_frames - 1)
    try:
        with closing(open_video(clip.path)) as source:
            return source.get(index)
    except VideoError as err:
        raise UserError(f"frame {index} of '{clip.name}' cannot be decoded: {err}") from None


def load_mask_upload(path: str | Path, clip: ClipInfo) -> np.ndarray:
    """An uploaded index mask (palette or grayscale PNG) checked against the clip."""
    path = Path(path)
    if path.suffix.lower() not in MASK_EXTENSIONS:
        raise UserError(f"'{path.name}' is not a PNG index mask (palette or grayscale PNG, 0 = background)")
    try:
        mask = read_index_mask(path)
    except (VideoMaskError, OSError, ValueError) as err:
        raise UserError(f"'{path.name}' cannot be read as an index mask: {err}") from None
    if mask.shape[:2] != clip.hw:
        raise UserError(f"the mask is {mask.shape[1]}×{mask.shape[0]} but the clip is {clip.width}×{clip.height}")
    if not mask.any():
        raise UserError(f"'{path.name}' holds no object (every pixel is 0)")
    if int(mask.max()) > MAX_OBJECTS:
        raise UserError(f"the mask uses label {int(mask.max())}; labels 1..{MAX_OBJECTS} are supported")
    return mask.astype(np.uint8)
