"""Opening image files with Pillow, checked before any pixel is decoded; frames converted to RGB.

`open_image` reads only the header, then refuses what should never be decoded: a path that is
not a regular file (a FIFO would block forever, a device never ends) and an image larger than
`MAX_IMAGE_PIXELS` (a decompression bomb: a 35-byte GIF can declare 65535 x 65535 pixels,
17 GB once decoded). Pillow's own guard (`DecompressionBombError`, a traceback) becomes our
`ImageRefused`, a ValueError with one line; callers turn it into VideoError or MaskError.

`to_rgb` converts every frame mode Pillow opens to H x W x 3 uint8 by meaning: 16-bit
grayscale (PNG "I;16", "I") is scaled 65535 -> 255 (Pillow's convert("RGB") clips it, so a
16-bit frame read as all white); alpha is dropped (a frame is what is seen on black); 32-bit
float images ("F") are refused (their value range is unknown).
"""

from __future__ import annotations

import re
import stat
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import UserError
from ..limits import MAX_IMAGE_PIXELS


class ImageRefused(UserError, ValueError):
    """An image file refused before decoding, with the reason (the caller adds the file's role)."""


def check_regular_file(path: Path) -> None:
    """Refuse FIFOs, devices and sockets: reading one blocks forever or never ends."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return  # the caller's own "not found" message
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device or socket"
        raise ImageRefused(f"'{path}' is {kind}, not a regular file; give a file")


def open_checked(path: Path) -> Image.Image:
    """Image.open with our checks before decoding (see the module docstring); the caller closes it."""
    check_regular_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        # Pillow refuses before we see the size; its message holds the pixel count.
        found = re.search(r"\((\d+) pixels\)", str(err))
        raise ImageRefused(_too_large(path, None, int(found.group(1)) if found else None)) from None
    w, h = im.size
    if w * h > MAX_IMAGE_PIXELS:
        im.close()
        raise ImageRefused(_too_large(path, (w, h)))
    return im


@contextmanager
def open_image(path: Path) -> Iterator[Image.Image]:
    """`open_checked` as a context manager."""
    with open_checked(path) as im:
        yield im


def _too_large(path: Path, size: tuple[int, int] | None, pixels: int | None = None) -> str:
    if size:
        declared = f"declares {size[0]}x{size[1]} pixels"
    elif pixels:
        declared = f"declares {pixels:,} pixels ({pixels / 1e6:,.0f} MP)"
    else:
        declared = "declares more pixels than Pillow will decode"
    return (
        f"'{path.name}' {declared}; at most {MAX_IMAGE_PIXELS / 1e6:.0f} MP per image are read "
        "(xmem_demo/limits.py): a damaged file or a decompression bomb, or downscale it first"
    )


def to_rgb(im: Image.Image, name: str) -> np.ndarray:
    """H x W x 3 uint8 RGB from any frame mode (16-bit grayscale scaled, alpha dropped)."""
    mode = im.mode
    if mode.startswith("I;16") or mode == "I":
        a = np.asarray(im)
        if a.dtype.byteorder not in ("=", "|"):
            a = a.astype(a.dtype.newbyteorder("="))
        if mode == "I" and (a.min(initial=0) < 0 or a.max(initial=0) > 65535):
            raise ImageRefused(f"'{name}': 32-bit integer pixels outside 0..65535; save frames as 8- or 16-bit")
        gray = np.round(a.astype(np.float32) / 257.0).astype(np.uint8)  # 65535 -> 255
        return np.repeat(gray[..., None], 3, axis=2)
    if mode == "F":
        raise ImageRefused(f"'{name}': 32-bit floating-point pixels (unknown range); save frames as 8- or 16-bit")
    return np.asarray(im.convert("RGB"))
