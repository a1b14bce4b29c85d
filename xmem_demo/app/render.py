"""Pictures and small HTML snippets the UI shows: the annotated frame, legend, progress."""

from __future__ import annotations

import html
from typing import Protocol, Sequence

import cv2
import numpy as np

# The display colours and the overlay live in the library (one look for every front end's
# overlay video: palette.py); the page uses them from here too.
from ..clicks import Click
from ..palette import DISPLAY_COLOURS, Palette, contrast_palette, display_overlay, object_color  # noqa: F401
from .limits import DISPLAY_MAX_SIDE


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


class Named(Protocol):
    """An object as the legend shows it (the Clip tab's `ObjectInfo`)."""

    id: int
    name: str


def legend_html(
    objects: Sequence[Named],
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
