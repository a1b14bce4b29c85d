"""Colours for masks: the DAVIS palette (saved masks), and overlays of masks on frames.

Two overlays: `overlay` in the DAVIS palette (figures, the live tab), and `display_overlay`,
the look of every run's overlay video (the CLI's, the app's) and of the app's page: bright
display colours, reordered per clip by `contrast_palette`, a white outline and a black ring.
"""

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


# Colours for showing objects on screen (frames, preview, overlay video, legend). Saved masks
# keep the DAVIS palette, which other tools read; on screen its first colours are dark (object
# 1 is (128, 0, 0): it vanishes on red objects and in dark scenes). These are bright and
# distinct from each other, and every object is also outlined in white, with a black ring
# outside, so it stays visible on any background, whatever its colour.
DISPLAY_COLOURS = np.array(
    [(0, 0, 0), (255, 200, 0), (0, 180, 255), (255, 60, 140), (60, 220, 80), (170, 90, 255), (255, 120, 20),
     (0, 230, 210), (230, 255, 60), (255, 140, 200), (80, 120, 255), (200, 255, 160), (255, 80, 60),
     (140, 230, 255), (220, 160, 255), (255, 230, 150), (0, 160, 120), (190, 140, 60), (255, 0, 255),
     (120, 200, 0), (150, 150, 255)],
    np.uint8,
)  # index 0: background (unused); objects beyond 20 reuse the list


# A display colour "blends in" when at least this share of the frame's pixels lies within
# NEAR_DELTA_E of it (CIE76 distance in Lab: ~25 is "clearly the same hue family").
NEAR_DELTA_E = 25.0
BLENDS_IN_SHARE = 0.04


def _lab(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 (..., 3) -> CIE Lab float (L in 0..100), OpenCV's float conversion."""
    rgb = np.asarray(rgb, np.float32).reshape(-1, 1, 3) / 255.0
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).reshape(-1, 3)


Palette = tuple[tuple[int, int, int], ...]  # RGB colours, index 0 background (small: kept in a visitor's state)


def contrast_palette(frame: np.ndarray, colours: np.ndarray = DISPLAY_COLOURS) -> Palette:
    """The display colours reordered so that the first objects get colours that stand out on
    this frame (issue 25: object 1's mustard vanished in yellow scenes).

    A colour blends in when at least BLENDS_IN_SHARE of the frame lies within NEAR_DELTA_E of
    it (Lab); those go to the back, least common first. The others keep their order, so a
    frame with none of these colours (most) keeps the usual palette. Index 0 stays background.
    """
    frame = np.asarray(frame, np.uint8)
    h, w = frame.shape[:2]
    step = max(1, round(max(h, w) / 96))  # ~96 px on the long side is enough for a colour census
    pixels = _lab(frame[::step, ::step, :3])
    lab = _lab(colours[1:])
    share = np.array([(np.linalg.norm(pixels - c, axis=1) < NEAR_DELTA_E).mean() for c in lab])
    order = sorted(range(len(lab)), key=lambda i: (share[i] >= BLENDS_IN_SHARE, share[i] if share[i] >= BLENDS_IN_SHARE else 0.0, i))
    return tuple(tuple(int(v) for v in c) for c in np.concatenate([colours[:1], colours[1:][order]]))


def object_color(obj_id: int, palette: Palette | None = None) -> tuple[int, int, int]:
    colours = DISPLAY_COLOURS if palette is None else palette
    r, g, b = colours[1 + (int(obj_id) - 1) % (len(colours) - 1)] if obj_id else colours[0]
    return int(r), int(g), int(b)


def display_overlay(
    frame: np.ndarray, labels: np.ndarray, alpha: float = 0.45, palette: Palette | None = None
) -> np.ndarray:
    """Each object tinted with its display colour, outlined in white, ringed in black outside.

    Line width grows with the frame (1 px up to 600 px on the long side) so that outlines
    survive the resizing for display.
    """
    frame = np.asarray(frame, np.uint8)
    labels = np.asarray(labels)
    if labels.shape != frame.shape[:2]:
        raise ValueError(f"mask {labels.shape} and frame {frame.shape[:2]} differ in size")
    fg = labels > 0
    if not fg.any():
        return frame.copy()
    lut = np.array([object_color(i, palette) for i in range(int(labels.max()) + 1)], np.float32)
    out = frame.astype(np.float32)
    out[fg] = (1 - alpha) * out[fg] + alpha * lut[labels[fg].astype(np.int64)]
    edge = label_edges(labels)
    width = max(1, round(max(frame.shape[:2]) / 600))
    kernel = np.ones((2 * width - 1, 2 * width - 1), np.uint8)
    white = cv2.dilate(edge.astype(np.uint8), kernel).astype(bool) & fg
    black = cv2.dilate(fg.astype(np.uint8), np.ones((2 * width + 1, 2 * width + 1), np.uint8)).astype(bool) & ~fg
    out[white] = 255
    out[black] = 0
    return out.astype(np.uint8)
