"""Resizing a frame to a working size on the CPU (OpenCV), by the one rule in geometry.py."""

from __future__ import annotations

import cv2
import numpy as np

from ..geometry import working_shape  # the one definition of the working size


def resize_short_side(frame: np.ndarray, size: int | None) -> np.ndarray:
    """Resize so the short side is `size` (INTER_AREA down, INTER_CUBIC up); None or -1 keeps it."""
    h, w = frame.shape[:2]
    nh, nw = working_shape(h, w, size)
    if (nh, nw) == (h, w):
        return frame
    interp = cv2.INTER_AREA if nh < h else cv2.INTER_CUBIC
    return cv2.resize(frame, (nw, nh), interpolation=interp)
