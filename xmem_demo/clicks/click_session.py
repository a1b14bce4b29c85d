"""One visitor's click state: the embedding cache and, per (frame, object), what the next click builds on.

SAM's interactive protocol (Kirillov et al. 2023, sec. 3 and appendix: "simulating interactive
segmentation") feeds each new click together with all earlier clicks and the previous
prediction's low-resolution logits. `ClickSession` keeps those logits per (frame, object), so a
click refines the mask instead of resetting it: XMem's own GUI re-runs the click model from the
clicks alone and drops the propagated mask; here the object's mask on the frame before the first
click (tracked, uploaded or brushed) is the first mask prompt.

It also keeps the last prediction's candidates (whole / part / sub-part) so the visitor can pick
another, and a pending box corner for the two-click box. It lives in the visitor's `gr.State`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable, Protocol, Sequence

import numpy as np

from ..errors import InputError
from .cache import EmbeddingCache
from .prompts import Box, PointLike, Prediction, Prompt

MAX_RECORDS = 64  # (frame, object) pairs remembered; the oldest is forgotten first


class ClickModel(Protocol):
    name: str
    label: str

    def predict(self, frame: np.ndarray, prompt: Prompt, cache: EmbeddingCache | None = None, key: Hashable | None = None) -> Prediction: ...


@dataclass
class ClickRecord:
    """What was said about one object on one frame."""

    prior_mask: np.ndarray | None = None  # the object's mask here before the first click
    box: Box | None = None
    inputs: list[np.ndarray | None] = field(default_factory=list)  # mask prompt (logits) of each step
    out_logits: np.ndarray | None = None  # logits of the chosen candidate of the last step
    model: str = ""  # the click model that made out_logits (logits of another model are not reused)


@dataclass
class ClickSession:
    cache: EmbeddingCache = field(default_factory=EmbeddingCache)
    records: dict[tuple[int, int], ClickRecord] = field(default_factory=dict)
    last: tuple[int, int] | None = None  # (frame, object) of the last prediction
    last_prediction: Prediction | None = None
    pending_corner: tuple[int, int, float, float] | None = None  # (frame, object, x, y) of a box's first corner
    decodes: int = 0  # prompt-decoder (or GrabCut) runs

    def record(self, frame: int, obj: int) -> ClickRecord | None:
        return self.records.get((frame, obj))

    def start(self, frame: int, obj: int, prior_mask: np.ndarray | None) -> ClickRecord:
        """The record for (frame, obj); a new one remembers the mask the clicks will refine."""
        key = (frame, obj)
        if key not in self.records:
            prior = None if prior_mask is None or not prior_mask.any() else prior_mask.copy()
            self.records[key] = ClickRecord(prior_mask=prior)
            while len(self.records) > MAX_RECORDS:
                self.records.pop(next(iter(self.records)))
        return self.records[key]

    def forget(self, frame: int, obj: int | None = None) -> None:
        for key in [k for k in self.records if k[0] == frame and (obj is None or k[1] == obj)]:
            del self.records[key]
        if self.last is not None and self.last[0] == frame and (obj is None or self.last[1] == obj):
            self.last, self.last_prediction = None, None

    # ---- predictions ------------------------------------------------------------------------
    def _run(
        self, model: ClickModel, frame_rgb: np.ndarray, frame_key: Hashable, frame: int, obj: int,
        clicks: Sequence[PointLike], rec: ClickRecord, mask_input: np.ndarray | None,
    ) -> Prediction:  # fmt: skip
        prompt = Prompt(clicks=list(clicks), box=rec.box, prior_mask=rec.prior_mask, prior_logits=mask_input)
        if prompt.prior_logits is not None:
            prompt.prior_mask = None  # the logits already carry the prior
        prediction = model.predict(frame_rgb, prompt, self.cache, frame_key)
        self.decodes += 1
        self.last, self.last_prediction = (frame, obj), prediction
        rec.out_logits = prediction.logits[prediction.best] if prediction.logits else None
        rec.model = model.name
        return prediction

    def step(
        self, model: ClickModel, frame_rgb: np.ndarray, frame_key: Hashable, frame: int, obj: int,
        clicks: Sequence[PointLike], prior_mask: np.ndarray | None = None,
    ) -> Prediction:  # fmt: skip
        """A new prompt (a click or a box) for (frame, obj): refine the last prediction."""
        rec = self.start(frame, obj, prior_mask)
        mask_input = rec.out_logits if rec.model == model.name else None
        rec.inputs.append(mask_input)
        return self._run(model, frame_rgb, frame_key, frame, obj, clicks, rec, mask_input)

    def undo(
        self, model: ClickModel, frame_rgb: np.ndarray, frame_key: Hashable, frame: int, obj: int,
        clicks: Sequence[PointLike],
    ) -> Prediction | None:  # fmt: skip
        """The last step removed: re-decode the remaining clicks from the mask prompt they had."""
        rec = self.record(frame, obj)
        if rec is None:
            return None
        if rec.inputs:
            rec.inputs.pop()
        if not clicks and rec.box is None:
            self.forget(frame, obj)
            return None
        mask_input = rec.inputs[-1] if rec.inputs and rec.model == model.name else None
        return self._run(model, frame_rgb, frame_key, frame, obj, clicks, rec, mask_input)

    def choose(self, frame: int, obj: int, index: int) -> np.ndarray:
        """Pick another candidate of the last prediction; the next click builds on it."""
        if self.last != (frame, obj) or self.last_prediction is None:
            raise InputError("no mask candidates for this object on this frame: click on the object first")
        prediction = self.last_prediction
        if not 0 <= index < len(prediction.masks):
            raise InputError(f"candidate {index + 1} does not exist: this click gave {len(prediction.masks)}")
        prediction.best = index
        rec = self.records.get((frame, obj))
        if rec is not None and prediction.logits:
            rec.out_logits = prediction.logits[index]
        return prediction.masks[index]

    def candidates(self, frame: int, obj: int) -> list[float]:
        """Scores of the last prediction's candidates for (frame, obj) (empty if none)."""
        if self.last != (frame, obj) or self.last_prediction is None:
            return []
        return list(self.last_prediction.scores)
