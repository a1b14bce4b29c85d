"""Clicks on a frame's picture, for one or several objects, turned into one index mask: the logic
of notebook 06's clickable image (an ipywidgets.Image with ipyevents), kept free of widgets so that
a notebook replays a fixed list of clicks headless through the same path (`lessons.ClickAnnotator`
is its name in the notebooks)."""

from __future__ import annotations

import numpy as np

from ..metrics import region_similarity

DISPLAY_WIDTH = 660  # pixels: the clickable picture's width (small clips scaled up, so a click lands where meant)


def _input_error(message: str) -> Exception:
    from ..errors import InputError  # a UserError: front ends show its message, not a traceback

    return InputError(message)


class ClickAnnotator:
    """Clicks on one frame, for one or several objects, turned into one index mask as the app's
    Clip tab does: each object's clicks go through `clicks.ClickSession.step` (a click refines the
    object's mask) and `undo`; where two objects' masks overlap, the later object wins.

    `click(x, y, positive)` is what a click on the picture does: `on_event` decodes an ipyevents
    mouse event (left click: positive; shift-click or right click: negative) and calls it, so a
    notebook can replay a fixed list of clicks headless through the same path.
    """

    def __init__(self, frame: np.ndarray, segmenter=None, frame_index: int = 0,
                 display_width: int = DISPLAY_WIDTH) -> None:  # fmt: skip
        from . import ClickSession, choose_segmenter

        self.frame = np.ascontiguousarray(frame)
        if self.frame.ndim != 3 or self.frame.shape[2] != 3:
            raise ValueError(f"frame must be H x W x 3 RGB, got shape {self.frame.shape}")
        self.segmenter = segmenter if segmenter is not None else choose_segmenter()
        self.frame_index = frame_index
        self.scale = display_width / self.frame.shape[1]  # picture pixels per frame pixel
        self.session = ClickSession()
        self.clicks: dict[int, list] = {1: []}  # object id -> its clicks, in order
        self.masks: dict[int, np.ndarray] = {}  # object id -> bool H x W, from its clicks
        self.active = 1

    @property
    def hw(self) -> tuple[int, int]:
        return self.frame.shape[0], self.frame.shape[1]

    def add_object(self) -> int:
        """A new object (the next id), now the one clicks go to."""
        from ..limits import MAX_OBJECTS

        if len(self.clicks) >= MAX_OBJECTS:
            raise _input_error(f"at most {MAX_OBJECTS} objects can be tracked at once")
        self.active = max(self.clicks) + 1
        self.clicks[self.active] = []
        return self.active

    def select(self, obj: int) -> None:
        """Clicks go to object `obj` from now on (created if new)."""
        if int(obj) < 1:
            raise _input_error(f"object ids start at 1, got {obj}")
        self.active = int(obj)
        self.clicks.setdefault(self.active, [])

    def click(self, x: float, y: float, positive: bool = True) -> np.ndarray:
        """A click at frame pixel (x, y) for the active object; returns the new index mask."""
        from . import Click

        h, w = self.hw
        if not (0 <= x < w and 0 <= y < h):
            raise _input_error(f"click at x={x:.0f}, y={y:.0f} lies outside the {w}x{h} frame")
        own = self.clicks[self.active]
        own.append(Click(int(x), int(y), bool(positive)))
        prediction = self.session.step(self.segmenter, self.frame, ("frame", self.frame_index), self.frame_index,
                                       self.active, own)  # fmt: skip
        self._keep(self.active, prediction.mask)
        return self.index_mask()

    def undo(self) -> np.ndarray:
        """Remove the active object's last click (the remaining clicks are decoded again)."""
        own = self.clicks[self.active]
        if not own:
            raise _input_error(f"no click to undo for object {self.active}")
        own.pop()
        prediction = self.session.undo(self.segmenter, self.frame, ("frame", self.frame_index), self.frame_index,
                                       self.active, own)  # fmt: skip
        self._keep(self.active, None if prediction is None else prediction.mask)
        return self.index_mask()

    def clear(self) -> None:
        """Forget every click of every object; back to object 1."""
        self.session.forget(self.frame_index)
        self.clicks, self.masks, self.active = {1: []}, {}, 1

    def _keep(self, obj: int, mask: np.ndarray | None) -> None:
        if mask is None or not mask.any():
            self.masks.pop(obj, None)
        else:
            self.masks[obj] = np.asarray(mask, bool)

    def index_mask(self) -> np.ndarray:
        """uint8 H x W: 0 background, each object's id on its pixels (a later id wins an overlap)."""
        out = np.zeros(self.hw, np.uint8)
        for obj in sorted(self.masks):
            out[self.masks[obj]] = obj
        return out

    def on_event(self, event: dict) -> bool:
        """An ipyevents mouse event on the picture: left click positive, shift-click or right click
        (`contextmenu`) negative. `dataX`/`dataY` are in the picture's pixels. Returns whether it was a click."""
        kind = event.get("type")
        if kind not in ("click", "contextmenu") or "dataX" not in event:
            return False
        positive = kind == "click" and not event.get("shiftKey", False)
        h, w = self.hw
        x = min(max(float(event["dataX"]) / self.scale, 0.0), w - 1)
        y = min(max(float(event["dataY"]) / self.scale, 0.0), h - 1)
        self.click(x, y, positive)
        return True

    def picture(self) -> np.ndarray:
        """The frame at display size, masks overlaid, every click drawn (+ green, - red, the active
        object's clicks larger)."""
        import cv2

        from ..palette import overlay

        h, w = self.hw
        size = (round(w * self.scale), round(h * self.scale))
        frame = cv2.resize(self.frame, size, interpolation=cv2.INTER_LINEAR)
        mask = cv2.resize(self.index_mask(), size, interpolation=cv2.INTER_NEAREST)
        image = np.ascontiguousarray(overlay(frame, mask))
        for obj, own in self.clicks.items():
            radius = 7 if obj == self.active else 5
            for c in own:
                centre = (round((c.x + 0.5) * self.scale), round((c.y + 0.5) * self.scale))
                colour = (40, 220, 40) if c.positive else (235, 40, 40)
                cv2.circle(image, centre, radius + 2, (255, 255, 255), -1, cv2.LINE_AA)
                cv2.circle(image, centre, radius, colour, -1, cv2.LINE_AA)
                cv2.line(image, (centre[0] - radius + 2, centre[1]), (centre[0] + radius - 2, centre[1]), (255, 255, 255), 2)
                if c.positive:
                    cv2.line(image, (centre[0], centre[1] - radius + 2), (centre[0], centre[1] + radius - 2), (255, 255, 255), 2)
        return image

    def png(self) -> bytes:
        """`picture()` as PNG bytes (for an ipywidgets.Image)."""
        import io

        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(self.picture()).save(buffer, format="PNG")
        return buffer.getvalue()

    def describe(self, truth: np.ndarray | None = None) -> str:
        """One line per object: its clicks and pixels, and its IoU with `truth` (an index mask) when given."""
        lines = []
        for obj, own in self.clicks.items():
            plus = sum(c.positive for c in own)
            mask = self.masks.get(obj)
            line = (f"object {obj}{' (clicks go here)' if obj == self.active else ''}: {plus} positive, "
                    f"{len(own) - plus} negative click(s), {0 if mask is None else int(mask.sum()):,} pixels")  # fmt: skip
            if truth is not None and (truth == obj).any():
                line += f", IoU with the mask file {region_similarity(self.index_mask() == obj, truth == obj):.3f}"
            lines.append(line)
        return "\n".join(lines)


__all__ = ["DISPLAY_WIDTH", "ClickAnnotator"]
