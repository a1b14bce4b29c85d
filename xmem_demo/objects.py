"""The objects of one video: the user's label ids and the network's channels.

A user names objects by label ids, the values of an index mask (1, 2, 7; 0 is background).
The network works on channels: channel k + 1 of the probabilities is the k-th object.
`VideoObjects` keeps that mapping, in the order objects were first given, and turns an
annotation into channels and probabilities back into labels, so that the session
(`InferenceSession.step`) only runs the protocol. Cutie keeps the same bookkeeping apart
from its memory, in its `ObjectManager`.

    objects = VideoObjects()
    onehot, given = objects.annotate(mask, None, frame_hw, work_hw, device)   # new labels join
    prob = objects.merge(onehot, given, predicted)                           # the mask wins where drawn
    labels = objects.to_index_mask(prob)                                     # channels -> label ids

`index_mask` is the one check of a 2-D index mask handed in by a caller (`pipeline.track`'s
annotations, the live tracker's target).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .errors import InputError, MaskError, UserError
from .model.blocks import soft_aggregate
from .video import check_mask_shape


def index_mask(mask: object, what: str, error: type[UserError] = MaskError) -> np.ndarray:
    """`mask` as an H x W array of integer labels (a boolean mask reads as label 1), or `error`
    naming `what` ("the mask for frame 3") when it is not one."""
    labels = np.asarray(mask)
    if labels.ndim != 2:
        raise error(f"{what} must be an H x W index mask, got shape {labels.shape}")
    if labels.dtype == bool:
        return labels.astype(np.uint8)
    if np.issubdtype(labels.dtype, np.floating):
        raise error(f"{what} holds floats; pass integer labels (0 = background)")
    if not np.issubdtype(labels.dtype, np.integer):
        raise error(f"{what} holds {labels.dtype} values; pass integer labels (0 = background)")
    return labels


class VideoObjects:
    """The objects of one video: `ids[k]` is the label id of channel k + 1 of the probabilities."""

    def __init__(self) -> None:
        self.ids: list[int] = []  # user label of each object, in channel order

    def __len__(self) -> int:
        return len(self.ids)

    def annotate(
        self,
        mask: np.ndarray | torch.Tensor,
        objects: Sequence[int] | None,
        frame_hw: tuple[int, int],
        work_hw: tuple[int, int],
        device: torch.device,
    ) -> tuple[torch.Tensor, list[int]]:
        """An annotation -> (one-hot K x h x w float mask over all known objects at the working
        size, the labels it gives). Labels not seen before become new objects (new channels).

        mask: an H x W index mask (0 = not annotated; `objects` picks labels from it, default
        all non-zero), or an N x H x W stack with `objects` naming each channel."""
        if not isinstance(mask, torch.Tensor):
            mask = np.asarray(mask)
            mask = mask.astype(np.int64) if mask.dtype in (np.uint16, np.uint32, np.uint64) else mask
        m = mask if isinstance(mask, torch.Tensor) else torch.from_numpy(np.require(mask, requirements=("C", "W")))
        if m.ndim == 2:
            check_mask_shape(m, frame_hw)
            if m.is_floating_point():
                raise MaskError("an index mask must hold integer labels; got floating-point values")
            present = [int(v) for v in torch.unique(m).tolist() if v != 0]
            labels = present if objects is None else [int(o) for o in objects]
            per_label = torch.stack([(m == lab) for lab in labels]) if labels else m.new_zeros((0, *frame_hw), dtype=torch.bool)
        elif m.ndim == 3:
            if objects is None or len(objects) != m.shape[0]:
                raise MaskError("a stacked N x H x W mask needs `objects`: one label id per channel")
            check_mask_shape(m, frame_hw)
            labels = [int(o) for o in objects]
            per_label = m > 0.5 if m.is_floating_point() else m.bool()
        else:
            raise MaskError(f"mask must be H x W (index mask) or N x H x W, got shape {tuple(m.shape)}")
        if any(lab <= 0 for lab in labels):
            raise MaskError("object labels must be positive integers (0 is background)")
        for lab in labels:
            if lab not in self.ids:
                self.ids.append(lab)
        onehot = torch.zeros((len(self.ids), *frame_hw), device=device)
        for lab, plane in zip(labels, per_label):
            onehot[self.ids.index(lab)] = plane.to(device).float()
        if work_hw != frame_hw:
            onehot = F.interpolate(onehot[None], size=work_hw, mode="nearest")[0]
        return onehot, labels

    def merge(self, onehot: torch.Tensor, given: list[int], prob: torch.Tensor | None) -> torch.Tensor:
        """The given mask (one-hot K x H x W, padded) over the prediction (K + 1 channels, or None):
        annotated objects take the mask; inside the drawn region the annotation wins over
        every other object; elsewhere the others keep their prediction. -> probabilities."""
        if prob is not None:
            predicted = prob[1:].clone()
            predicted[:, onehot.sum(0) > 0.5] = 0
            given_channels = {self.ids.index(lab) for lab in given}
            for k in range(predicted.shape[0]):
                if k not in given_channels:
                    onehot[k] = predicted[k]
        _, prob = soft_aggregate(onehot.float(), dim=0)
        return prob

    def to_index_mask(self, prob: torch.Tensor) -> np.ndarray:
        """Argmax over channels, mapped back to the user's label ids (uint8 or uint16).

        prob: (K + 1) x H x W probabilities for these K objects (what `InferenceSession.step` returns)."""
        shape = tuple(getattr(prob, "shape", ()))
        if not isinstance(prob, torch.Tensor) or len(shape) != 3 or shape[0] != len(self.ids) + 1:
            raise InputError(
                f"prob must be the (K + 1) x H x W tensor `step` returned (K = {len(self.ids)} objects here), "
                f"got {type(prob).__name__} of shape {shape}"
            )
        lut = np.array([0, *self.ids])
        lut = lut.astype(np.uint8 if lut.max() < 256 else np.uint16)
        # max(0).indices, not argmax(0): the same first maximal index (ties included, tested),
        # and on CPU 7-18x faster (argmax over a short leading dim is not vectorised; issue 22)
        idx = prob.max(0).indices
        idx = idx.to(torch.uint8) if shape[0] <= 256 else idx.to(torch.int32)  # an 8x smaller copy to the host
        return lut[idx.cpu().numpy()]
