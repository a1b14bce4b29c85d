"""Opening the visitor's clip: checks with specific messages, and frames decoded on demand."""

from __future__ import annotations

import os
import warnings
from contextlib import closing
from pathlib import Path

import numpy as np

from ...errors import UserError
from ...resources import EXAMPLES_DIR
from ...video import MaskError as VideoMaskError
from ...masks import read_annotation
from ...video import VideoError, check_mask_shape, open_video
from ..limits import CLIP_EXTENSIONS, MASK_EXTENSIONS, MAX_FRAMES, MAX_OBJECTS, MAX_SHORT_SIDE, MAX_SIDE, MIN_SIDE
from .state import ClipInfo

EXAMPLES_ENV = "XMEM_DEMO_EXAMPLES"  # another folder of example clips (tests, classrooms)


def examples_dir() -> Path:
    return Path(os.environ.get(EXAMPLES_ENV) or EXAMPLES_DIR)


def example_clips(folder: Path | None = None) -> list[str]:
    """File names of the example clips offered in the UI."""
    folder = examples_dir() if folder is None else folder
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.suffix.lower() in CLIP_EXTENSIONS)


def inspect_clip(path: str | Path, display_name: str | None = None) -> ClipInfo:
    """Open a clip once to read its size and length; refuse it with a reason if unusable."""
    path = Path(path)
    name = display_name or path.name
    if not path.exists():
        raise UserError(f"'{name}' was not found")
    if path.suffix.lower() not in CLIP_EXTENSIONS:
        raise UserError(f"'{name}' is not a supported video: use one of {', '.join(CLIP_EXTENSIONS)}")
    if path.stat().st_size == 0:
        raise UserError(f"'{name}' is an empty file (0 bytes)")
    try:
        with closing(open_video(path)) as source:
            info = source.info
            num_frames = len(source)
            note = (source.damage or "").replace(f"'{path.name}' is damaged", "the file is damaged")
            if num_frames > 0:
                source.get(0)  # a file whose first frame cannot be decoded is refused now, not mid-run
    except VideoError as err:
        raise UserError(f"'{name}' cannot be read as a video: {str(err).replace(path.name, name)}") from None
    if min(info.width, info.height) < MIN_SIDE:
        raise UserError(
            f"'{name}' is {info.width}×{info.height} pixels; clips need at least {MIN_SIDE}×{MIN_SIDE} pixels"
        )
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
    return ClipInfo(str(path), name, num_frames, float(info.fps or 0.0), int(info.width), int(info.height), note)


def read_frame(clip: ClipInfo, index: int) -> np.ndarray:
    """One frame, decoded now (frames are never kept in the visitor's state)."""
    index = min(max(int(index), 0), clip.num_frames - 1)
    try:
        with closing(open_video(clip.path, check_end=False)) as source:  # checked once by inspect_clip
            return source.get(index)
    except VideoError as err:
        raise UserError(f"frame {index} of '{clip.name}' cannot be decoded: {err}") from None


def load_mask_upload(path: str | Path, clip: ClipInfo) -> np.ndarray:
    """An uploaded index mask (palette or grayscale PNG) checked against the clip.

    Soft edges are snapped and DAVIS 'void' (255) pixels ignored, with a warning in the UI
    (xmem_demo/masks.py); JPEGs and other formats are refused."""
    path = Path(path)
    if path.suffix.lower() not in MASK_EXTENSIONS:
        raise UserError(f"'{path.name}' is not a PNG index mask (palette or grayscale PNG, 0 = background)")
    try:
        ann = read_annotation(path, max_objects=MAX_OBJECTS)
    except (VideoMaskError, OSError, ValueError) as err:
        raise UserError(f"'{path.name}' cannot be used as an index mask: {err}") from None
    mask = ann.mask
    try:
        check_mask_shape(mask, clip.hw, what=f"the mask '{path.name}'")  # the library's one mask-size check
    except VideoMaskError as err:
        raise UserError(str(err)) from None
    if int(mask.max()) > MAX_OBJECTS:
        raise UserError(f"the mask uses label {int(mask.max())}; labels 1..{MAX_OBJECTS} are supported")
    for message in ann.warnings:
        _warn_visitor(message)
    return mask.astype(np.uint8)


def _warn_visitor(message: str) -> None:
    """A yellow toast in the visitor's tab (outside a request: a Python warning)."""
    try:
        import gradio as gr

        gr.Warning(message)
    except ImportError:
        warnings.warn(message, stacklevel=3)
