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


def object_color(obj_id: int) -> tuple[int, int, int]:
    r, g, b = DISPLAY_COLOURS[1 + (int(obj_id) - 1) % (len(DISPLAY_COLOURS) - 1)] if obj_id else DISPLAY_COLOURS[0]
    return int(r), int(g), int(b)


def display_overlay(frame: np.ndarray, labels: np.ndarray, alpha: float = 0.45) -> np.ndarray:
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
    lut = np.array([object_color(i) for i in range(int(labels.max()) + 1)], np.float32)
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
    frame: np.ndarray, labels: np.ndarray | None, clicks: Sequence[Click] = (), scale: float = 1.0
) -> np.ndarray:
    """The frame with its mask overlaid and the clicks drawn (+ green, - red), at display size."""
    shown = frame if labels is None or not labels.any() else display_overlay(frame, labels)
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
    objects: Sequence[ObjectInfo], active: int, frames_per_object: dict[int, list[int]] | None = None
) -> str:
    items = []
    for obj in objects:
        r, g, b = object_color(obj.id)
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
    phase: str, done: int, total: int, fps: float = 0.0, eta_s: float | None = None, note: str = ""
) -> str:
    pct = 100.0 * done / total if total else 0.0
    stats = f"{done} / {total} frames"
    if fps > 0:
        stats += f" · {fps:.1f} FPS · ETA {format_seconds(eta_s)}"
    note_html = f'<div class="xm-note">{html.escape(note)}</div>' if note else ""
    return (
        f'<div class="xm-progress"><div class="xm-progress-head"><b>{html.escape(phase)}</b><span>{stats}</span></div>'
        f'<div class="xm-bar"><div class="xm-fill" style="width:{pct:.1f}%"></div></div>{note_html}</div>'
    )


def banner_html(text: str, official: bool, ok: bool = True) -> str:
    kind = "xm-ok" if official else ("xm-warn" if ok else "xm-error")
    icon = "✅" if official else ("⚠️" if ok else "⛔")
    return f'<div class="xm-banner {kind}">{icon} {html.escape(text)}</div>'
