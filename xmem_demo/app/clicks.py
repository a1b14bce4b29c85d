"""Click-to-mask: positive and negative clicks on one frame -> one object's mask.

Two methods with one interface:
- `GrabCutSegmenter` (always available, no weights): OpenCV's GrabCut, seeded by the
  clicks. Positive clicks are certain foreground and seed a "probably foreground" disc;
  negative clicks and the image border are certain background.
- `SamSegmenter` (optional extra, see `sam.py`): Segment Anything, used when the
  `segment_anything` package and a SAM checkpoint in the weights cache are both present.
`choose_segmenter()` picks one; its `label` tells the visitor which is active.
"""

from __future__ import annotations

from typing import Protocol, Sequence

import cv2
import numpy as np

from .limits import CLICK_WORK_SIDE
from .state import Click


class ClickSegmenter(Protocol):
    name: str
    label: str

    def segment(self, frame: np.ndarray, clicks: Sequence[Click]) -> np.ndarray:
        """frame: H x W x 3 uint8 RGB; returns a bool H x W mask (empty without positive clicks)."""
        ...


def _disc(mask: np.ndarray, x: float, y: float, radius: int, value: int) -> None:
    cv2.circle(mask, (int(round(x)), int(round(y))), max(int(radius), 1), int(value), thickness=-1)


def keep_clicked_components(mask: np.ndarray, points: Sequence[tuple[int, int]], bridge: int = 0) -> np.ndarray:
    """Keep the parts of `mask` connected to a positive click (x, y).

    bridge: gaps up to about this many pixels (a belt, a thin shadow) do not split a part.
    """
    joined = mask.astype(np.uint8)
    if bridge > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * bridge + 1, 2 * bridge + 1))
        joined = cv2.morphologyEx(joined, cv2.MORPH_CLOSE, kernel)
    count, labels = cv2.connectedComponents(joined, connectivity=8)
    if count <= 1:
        return mask
    h, w = mask.shape
    keep = {int(labels[min(max(y, 0), h - 1), min(max(x, 0), w - 1)]) for x, y in points} - {0}
    return mask & np.isin(labels, list(keep)) if keep else mask


class GrabCutSegmenter:
    name = "grabcut"
    label = "GrabCut (offline, needs no weights), seeded by your clicks"

    def __init__(
        self,
        work_side: int = CLICK_WORK_SIDE,
        iterations: int = 5,
        seed_fractions: Sequence[float] = (0.12, 0.08, 0.2, 0.05),
    ) -> None:
        self.work_side = work_side
        self.iterations = iterations
        # Radius of the "probably object" disc around each positive click, as a fraction of
        # the short side. Tried in turn until one gives more than the clicked dots and less
        # than most of the frame (GrabCut can collapse onto the seeds when the object's
        # colours also fill the background).
        self.seed_fractions = tuple(seed_fractions)

    def segment(self, frame: np.ndarray, clicks: Sequence[Click]) -> np.ndarray:
        h, w = frame.shape[:2]
        positives = [c for c in clicks if c.positive]
        if not positives:
            return np.zeros((h, w), bool)
        scale = min(1.0, self.work_side / max(h, w))
        small = (
            frame
            if scale == 1.0
            else cv2.resize(frame, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        )
        bgr = np.ascontiguousarray(small[..., ::-1])
        short = min(small.shape[:2])
        dot = max(2, short // 60)
        fallback = None
        for fraction in self.seed_fractions:
            fg = self._grabcut(bgr, clicks, scale, fraction * short, dot)
            area = int(fg.sum())
            if 3 * len(positives) * np.pi * dot**2 < area < 0.6 * fg.size:
                break
            fallback = fg if fallback is None or area > fallback.sum() and area < 0.6 * fg.size else fallback
        else:
            fg = fallback
        if scale != 1.0:
            fg = cv2.resize(fg.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR) > 0.5
        return fg

    def _grabcut(self, bgr: np.ndarray, clicks: Sequence[Click], scale: float, radius: float, dot: int) -> np.ndarray:
        sh, sw = bgr.shape[:2]
        seeds = np.full((sh, sw), cv2.GC_PR_BGD, np.uint8)
        border = max(1, min(sh, sw) // 50)
        seeds[:border, :] = seeds[-border:, :] = cv2.GC_BGD
        seeds[:, :border] = seeds[:, -border:] = cv2.GC_BGD
        positives = [c for c in clicks if c.positive]
        for c in positives:
            _disc(seeds, c.x * scale, c.y * scale, radius, cv2.GC_PR_FGD)
        for c in clicks:  # in click order: a later click wins where two overlap
            _disc(seeds, c.x * scale, c.y * scale, dot, cv2.GC_FGD if c.positive else cv2.GC_BGD)
        cv2.setRNGSeed(0)  # GrabCut's GMM initialisation is random: make clicks reproducible
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.grabCut(bgr, seeds, None, bgd, fgd, self.iterations, cv2.GC_INIT_WITH_MASK)
        fg = (seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)
        points = [(round(c.x * scale), round(c.y * scale)) for c in positives]
        return keep_clicked_components(fg, points, bridge=max(1, min(sh, sw) // 40))


def choose_segmenter(device: str = "cpu") -> ClickSegmenter:
    """Segment Anything when installed and its weights are cached, else GrabCut."""
    from .sam import SamSegmenter, find_checkpoint, sam_installed

    if sam_installed():
        found = find_checkpoint()
        if found is not None:
            return SamSegmenter(*found, device=device)
    return GrabCutSegmenter()
