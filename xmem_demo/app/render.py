"""Pictures and small HTML snippets the UI shows: the annotated frame, legend, progress."""

from __future__ import annotations

import html
from typing import Sequence

import cv2
import numpy as np

from ..palette import label_edges
from .limits import DISPLAY_MAX_SIDE
from .state import Click, ObjectInfo


def display_scale(width: int, height: int, max_side: int = DISPLAY_MAX_SIDE) -> float:
    """Frames are shown with their long side at `max_side` (large ones shrunk, small ones
    enlarged up to 8x, so they are easy to click); clicks are mapped back by this factor."""
    return min(8.0, max_side / max(width, height))


def resize_for_display(image: np.ndarray, scale: float) -> np.ndarray:
    """Resize by `scale` for display (large frames shrink, small ones are enlarged)."""
    if scale == 1.0:
        return image
    h, w = image.shape[:2]
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    return cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=interpolation)


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


def annotated_view(
    frame: np.ndarray,
    labels: np.ndarray | None,
    clicks: Sequence[Click] = (),
    scale: float = 1.0,
    palette: Palette | None = None,
) -> np.ndarray:
    """The frame with its mask overlaid and the clicks drawn (+ green, - red), at display size."""
    shown = frame if labels is None or not labels.any() else display_overlay(frame, labels, palette=palette)
    shown = np.ascontiguousarray(resize_for_display(np.asarray(shown, np.uint8), scale))
    radius = max(4, round(min(shown.shape[:2]) / 60))
    for c in clicks:
        centre = (round(c.x * scale), round(c.y * scale))
        color = (40, 200, 60) if c.positive else (230, 40, 40)
        cv2.circle(shown, centre, radius + 2, (255, 255, 255), thickness=-1, lineType=cv2.LINE_AA)
        cv2.circle(shown, centre, radius, color, thickness=-1, lineType=cv2.LINE_AA)
        arm = max(2, radius - 2)
        cv2.line(shown, (centre[0] - arm, centre[1]), (centre[0] + arm, centre[1]), (255, 255, 255), 2, cv2.LINE_AA)
        if c.positive:
            cv2.line(shown, (centre[0], centre[1] - arm), (centre[0], centre[1] + arm), (255, 255, 255), 2, cv2.LINE_AA)
    return shown


def legend_html(
    objects: Sequence[ObjectInfo],
    active: int,
    frames_per_object: dict[int, list[int]] | None = None,
    palette: Palette | None = None,
) -> str:
    items = []
    for obj in objects:
        r, g, b = object_color(obj.id, palette)
        frames = (frames_per_object or {}).get(obj.id, [])
        where = (
            f"annotated on frame{'s' if len(frames) > 1 else ''} {', '.join(map(str, frames))}"
            if frames
            else "not annotated yet"
        )
        cls = "xm-obj active" if obj.id == active else "xm-obj"
        items.append(
            f'<span class="{cls}"><span class="xm-swatch" style="background:rgb({r},{g},{b})"></span>'
            f"<b>{obj.id}</b>&nbsp;{html.escape(obj.name)} <small>({where})</small></span>"
        )
    return '<div class="xm-legend">' + "".join(items) + "</div>"


def format_seconds(seconds: float | None) -> str:
    if seconds is None or not np.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    return (
        f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
        if seconds >= 3600
        else f"{seconds // 60}:{seconds % 60:02d}"
    )


def progress_html(
    phase: str,
    done: int,
    total: int,
    fps: float = 0.0,
    eta_s: float | None = None,
    note: str = "",
    elapsed_s: float | None = None,
    details: str = "",
) -> str:
    """The progress line: phase, frames done, rate and ETA of this stage, time since Track;
    `details` (a failure's technical part) folded under the note."""
    pct = 100.0 * done / total if total else 0.0
    stats = f"{done} / {total} frames"
    if fps > 0:
        stats += f" · {fps:.1f} FPS · ETA {format_seconds(eta_s)}"
    if elapsed_s is not None:
        stats += f" · {format_seconds(elapsed_s)} elapsed"
    note_html = f'<div class="xm-note">{html.escape(note)}</div>' if note else ""
    if details:
        note_html += (
            f'<details class="xm-details"><summary>Details</summary><small>{html.escape(details)}</small></details>'
        )
    return (
        f'<div class="xm-progress"><div class="xm-progress-head"><b>{html.escape(phase)}</b><span>{stats}</span></div>'
        f'<div class="xm-bar"><div class="xm-fill" style="width:{pct:.1f}%"></div></div>{note_html}</div>'
    )


def banner_html(text: str, official: bool, ok: bool = True) -> str:
    kind = "xm-ok" if official else ("xm-warn" if ok else "xm-error")
    icon = "✅" if official else ("⚠️" if ok else "⛔")
    return f'<div class="xm-banner {kind}">{icon} {html.escape(text)}</div>'
