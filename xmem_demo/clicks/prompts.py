"""What a visitor gives the click model (a `Prompt`) and what it gets back (a `Prediction`).

Both are plain dataclasses with numpy arrays, so the app can keep them in the visitor's
`gr.State` and the notebooks can build them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence

import numpy as np

from ..errors import InputError


class PointLike(Protocol):
    """A click: anything with these three fields (the app's `Click`, the benchmark's clicks)."""

    x: float  # column, in pixels of the full-resolution frame
    y: float  # row
    positive: bool  # True: part of the object; False: not part of it


@dataclass(frozen=True)
class Click:
    """One click, a `PointLike`: what the notebooks and the app record."""

    x: int  # column, in pixels of the full-resolution frame
    y: int  # row
    positive: bool = True  # True: part of the object; False: not part of it


@dataclass(frozen=True)
class Box:
    """A box prompt in full-resolution pixels: corners (x0, y0) and (x1, y1), any order."""

    x0: float
    y0: float
    x1: float
    y1: float

    def ordered(self) -> tuple[float, float, float, float]:
        return min(self.x0, self.x1), min(self.y0, self.y1), max(self.x0, self.x1), max(self.y0, self.y1)


@dataclass
class Prompt:
    """Everything the visitor said about one object on one frame.

    prior_mask: the object's mask on this frame before these clicks (tracked by a run, uploaded,
        or from earlier clicks); clicks then *refine* it instead of starting from nothing.
    prior_logits: the click model's own low-resolution logits from the previous click on this
        frame (SAM's interactive protocol feeds them back as the mask prompt); preferred over
        `prior_mask` when both are given.
    """

    clicks: Sequence[PointLike] = ()
    box: Box | None = None
    prior_mask: np.ndarray | None = None  # bool H x W
    prior_logits: np.ndarray | None = None  # float32 h x w (the model's mask-prompt size)

    @property
    def has_positive(self) -> bool:
        return any(c.positive for c in self.clicks) or self.box is not None

    @property
    def is_empty(self) -> bool:
        return not self.has_positive and self.prior_mask is None and self.prior_logits is None

    def check_inside(self, frame_hw: tuple[int, int]) -> None:
        """Refuse clicks outside the frame (an empty mask would look like a model failure)."""
        h, w = frame_hw
        for c in self.clicks:
            if not (0 <= float(c.x) < w and 0 <= float(c.y) < h):
                raise InputError(f"click at x={c.x}, y={c.y} lies outside the {w}x{h} frame (x 0..{w - 1}, y 0..{h - 1})")


@dataclass
class Prediction:
    """Candidate masks for one prompt: the model's choice first is `best`.

    SAM-family models answer an ambiguous prompt (one click) with three candidates (whole
    object, part, sub-part) and a predicted IoU for each; the visitor may pick another one.
    `logits` are the low-resolution mask logits of each candidate, fed back with the next click.
    """

    masks: list[np.ndarray]  # bool H x W, one per candidate
    scores: list[float] = field(default_factory=list)  # predicted IoU (SAM) or 1.0 (GrabCut)
    logits: list[np.ndarray | None] = field(default_factory=list)
    best: int = 0

    @property
    def mask(self) -> np.ndarray:
        return self.masks[self.best]

    @staticmethod
    def empty(hw: tuple[int, int]) -> "Prediction":
        return Prediction([np.zeros(hw, bool)], [0.0], [None], 0)
