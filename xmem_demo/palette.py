"""Colours for masks: the DAVIS palette, and overlays of masks on frames."""

from __future__ import annotations

import cv2
import numpy as np


def davis_palette() -> np.ndarray:
    """The 256-colour DAVIS/PASCAL palette (256 x 3 uint8): label bits spread over R, G, B."""
    palette = np.zeros((256, 3), np.uint8)
    for label in range(256):
        c, r, g, b = label, 0, 0, 0
        for shift in range(7, -1, -1):
            r |= (c & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        palette[label] = (r, g, b)
    return palette


PALETTE = davis_palette()


def colorize(mask: np.ndarray) -> np.ndarray:
    """H x W label map -> H x W x 3 uint8 colours (labels above 255 wrap)."""
    return PALETTE[np.asarray(mask).astype(np.int64) % 256]


def label_edges(mask: np.ndarray) -> np.ndarray:
    """The object pixels (label > 0) on a contour: those with a 4-neighbour of another label
    (background or another object). H x W bool; the overlays draw their outlines from it."""
    m = np.asarray(mask).astype(np.int32)
    edge = np.zeros(m.shape, bool)
    edge[:-1] |= m[:-1] != m[1:]
    edge[1:] |= m[1:] != m[:-1]
    edge[:, :-1] |= m[:, :-1] != m[:, 1:]
    edge[:, 1:] |= m[:, 1:] != m[:, :-1]
    return edge & (m > 0)


def overlay(frame: np.ndarray, mask: np.ndarray, alpha: float = 0.5, contour: bool = True) -> np.ndarray:
    """Tint each object with its palette colour and outline it; background is left as is."""
    frame = np.asarray(frame, np.uint8)
    mask = np.asarray(mask)
    if mask.shape != frame.shape[:2]:
        raise ValueError(f"mask {mask.shape} and frame {frame.shape[:2]} differ in size")
    out = frame.astype(np.float32)
    fg = mask > 0
    colours = colorize(mask).astype(np.float32)
    out[fg] = (1 - alpha) * out[fg] + alpha * colours[fg]
    out = out.astype(np.uint8)
    if contour and fg.any():
        edge = cv2.dilate(label_edges(mask).astype(np.uint8), np.ones((2, 2), np.uint8)).astype(bool) & fg
        out[edge] = colours[edge].astype(np.uint8)
    return out
