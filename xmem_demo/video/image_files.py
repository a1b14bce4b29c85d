"""Animated GIFs and folders of jpg/png frames, through Pillow."""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import VideoError
from .pillow import ImageRefused, open_checked, open_image, to_rgb
from .readers import DEFAULT_FPS, FRAME_EXTENSIONS, OneByOne, VideoInfo


class GifReader(OneByOne):
    """Animated GIFs through Pillow; the frame rate from the GIF's frame duration."""

    backend: ClassVar[str] = "pillow"

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            gif = open_checked(path)  # header checks (size, FIFO) before any decoding
        except ImageRefused as err:
            raise VideoError(str(err)) from None
        except (UnidentifiedImageError, OSError) as err:
            raise VideoError(f"'{path.name}': cannot read this GIF ({err})") from None
        try:
            num = getattr(gif, "n_frames", 1)
            gif.seek(0)
            first = np.asarray(gif.convert("RGB"))
        except (EOFError, OSError) as err:
            gif.close()
            raise VideoError(f"'{path.name}': cannot read this GIF ({err})") from None
        duration = gif.info.get("duration") or 100  # milliseconds per frame
        self._gif = gif
        self.info = VideoInfo(str(path), num, 1000.0 / duration, first.shape[1], first.shape[0], "gif")

    def get(self, index: int) -> np.ndarray:
        try:
            self._gif.seek(index)
            return np.asarray(self._gif.convert("RGB"))
        except (EOFError, OSError) as err:
            raise VideoError(f"'{self.path.name}': cannot decode frame {index} ({err})") from None

    def close(self) -> None:
        self._gif.close()


def natural_key(name: str) -> list:
    """'frame10.png' sorts after 'frame9.png'."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part.lower()) for part in re.split(r"(\d+)", name)]


def read_image(path: Path) -> np.ndarray:
    """One frame file as H x W x 3 uint8 RGB (checked before decoding; 16-bit scaled, pillow.py)."""
    try:
        with open_image(path) as im:
            return to_rgb(im, path.name)
    except ImageRefused as err:
        raise VideoError(str(err)) from None
    except (UnidentifiedImageError, OSError) as err:
        raise VideoError(f"'{path}': cannot read this frame ({err})") from None


class FrameFolderReader(OneByOne):
    """A folder of jpg/png frames in natural name order (hidden files and other files ignored).

    Every frame must have the first frame's size; a frame that differs or cannot be read
    raises when it is asked for, naming the file."""

    backend: ClassVar[str] = "pillow"

    def __init__(self, path: Path) -> None:
        named = [p for p in path.iterdir() if p.suffix.lower() in FRAME_EXTENSIONS and not p.name.startswith(".")]
        special = [p for p in named if not p.is_file() and not p.is_dir()]
        if special:  # a FIFO among the frames would block the decoder forever
            raise VideoError(f"'{special[0]}' is a FIFO (named pipe), device or socket, not a regular file; "
                             "a frame folder holds image files only")
        files = [p for p in named if p.is_file()]
        if not files:
            raise VideoError(f"'{path}': folder holds no {'/'.join(FRAME_EXTENSIONS)} frames")
        self.files = sorted(files, key=lambda p: natural_key(p.name))
        first = read_image(self.files[0])
        self.info = VideoInfo(str(path), len(self.files), DEFAULT_FPS, first.shape[1], first.shape[0], "frames")

    def get(self, index: int) -> np.ndarray:
        frame = read_image(self.files[index])
        if frame.shape[:2] != (self.info.height, self.info.width):
            raise VideoError(f"'{self.files[index].name}' is {frame.shape[1]}x{frame.shape[0]}, other frames are "
                             f"{self.info.width}x{self.info.height}")
        return frame

    def close(self) -> None:
        pass
