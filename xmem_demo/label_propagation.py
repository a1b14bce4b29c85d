"""Label propagation on raw ImageNet features: the training-free reference for the `lite` model.

Before any head is trained, a frozen ImageNet trunk can already track: describe every pixel
of the query frame and of a few memory frames by the trunk's features, let each query pixel
attend to its most similar memory pixels, and copy their labels. This is the "space-time
correspondence" baseline of self-supervised tracking (e.g. Jabri et al., 2020), with
nothing learned for the task. XMem's memory read (Eq. 1-3) has the same shape; what XMem
trains on top is the key projection with shrinkage and selection, values that encode the
mask with the image, the sensory memory, and a decoder that turns the readout into sharp
masks. Comparing the two shows what the trained heads add (benchmarks/offline_models.py,
notebook 01).

The recipe (measured as the reference in issue 19): features at stride 8 (EfficientNet-Lite0
f8, and f16 upsampled x2, each L2-normalised, concatenated), cosine affinity / 0.05, softmax
over the top 10 memory pixels, memory = the annotated frame plus the last 3 frames with
their predicted labels. Labels live at stride 8 and are upsampled bilinearly, so masks are
blobby: no decoder.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import torch
import torch.nn.functional as F

from .config import IMAGENET_MEAN, IMAGENET_STD
from .geometry import FrameGeometry
from .model.efficientnet_lite import LiteTrunk, load_trunk_state


def stride8_descriptors(trunk: LiteTrunk, image: torch.Tensor) -> torch.Tensor:
    """C x h x w descriptors of unit length at stride 8 of a 1 x 3 x H x W ImageNet-normalised
    image (H, W multiples of 16): the trunk's f8 and its f16 upsampled x2, each L2-normalised."""
    f16, f8, _ = trunk(image)
    f16 = F.interpolate(f16, size=f8.shape[-2:], mode="bilinear", align_corners=False)
    return torch.cat([F.normalize(f8, dim=1), F.normalize(f16, dim=1)], 1)[0] / np.sqrt(2)


class LabelPropagation:
    """Tracks the objects of a first-frame index mask by copying labels along feature affinity.

    step(frame, mask=None) -> H x W index mask, like `InferenceSession.step` followed by
    `to_index_mask`. One instance per video.
    """

    def __init__(self, working_size: int | None = 240, temperature: float = 0.05, top_k: int = 10,
                 recent_frames: int = 3, trunk: LiteTrunk | None = None) -> None:
        if trunk is None:
            trunk = LiteTrunk().eval()
            load_trunk_state(trunk)
        self.trunk = trunk
        self.working_size = working_size
        self.temperature = temperature
        self.top_k = top_k
        self.anchor: tuple[torch.Tensor, torch.Tensor] | None = None  # (features, labels) of the annotation
        self.recent: deque[tuple[torch.Tensor, torch.Tensor]] = deque(maxlen=recent_frames)
        self.num_labels = 0
        self.label_ids: list[int] = []

    @torch.no_grad()
    def _features(self, frame: np.ndarray, geometry: FrameGeometry) -> torch.Tensor:
        """C x h x w at stride 8, each pixel's descriptor of unit length."""
        image = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1).float().div(255)[None]
        image = F.interpolate(image, size=geometry.working_hw, mode="bilinear", align_corners=False)
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return stride8_descriptors(self.trunk, F.pad((image - mean) / std, geometry.pad))

    def _labels_at_stride8(self, mask: np.ndarray, geometry: FrameGeometry, hw: tuple[int, int]) -> torch.Tensor:
        onehot = torch.stack([torch.from_numpy(mask == k) for k in [0, *self.label_ids]]).float()[None]
        onehot = F.interpolate(onehot, size=geometry.working_hw, mode="bilinear", align_corners=False)
        onehot = F.pad(onehot, geometry.pad)
        return F.adaptive_avg_pool2d(onehot, hw)[0]  # (K + 1) x h x w soft labels

    @torch.no_grad()
    def step(self, frame: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        geometry = FrameGeometry.for_frame(frame.shape[:2], self.working_size)
        feats = self._features(frame, geometry)
        c, h, w = feats.shape
        if mask is not None:
            self.label_ids = [int(k) for k in np.unique(mask) if k != 0]
            labels = self._labels_at_stride8(mask, geometry, (h, w))
            self.anchor, self.recent = (feats, labels), deque(maxlen=self.recent.maxlen)
        elif self.anchor is None:
            raise ValueError("the first frame needs a mask")
        else:
            memory = [self.anchor, *self.recent]
            keys = torch.cat([f.flatten(1) for f, _ in memory], 1)  # C x N
            values = torch.cat([v.flatten(1) for _, v in memory], 1)  # (K + 1) x N
            affinity = (keys.T @ feats.flatten(1)) / self.temperature  # N x hw
            top, index = affinity.topk(min(self.top_k, affinity.shape[0]), dim=0)
            weights = torch.softmax(top, dim=0)  # k x hw
            labels = (values[:, index] * weights[None]).sum(1).view(-1, h, w)  # (K + 1) x h x w
        self.recent.append((feats, labels))
        return self._to_index_mask(labels, geometry)

    def _to_index_mask(self, labels: torch.Tensor, geometry: FrameGeometry) -> np.ndarray:
        full = F.interpolate(labels[None], scale_factor=8, mode="bilinear", align_corners=False)
        top, left = geometry.pad[2], geometry.pad[0]
        wh, ww = geometry.working_hw
        full = full[..., top : top + wh, left : left + ww]
        full = F.interpolate(full, size=geometry.frame_hw, mode="bilinear", align_corners=False)[0]
        index = full.max(0).indices.numpy()
        ids = np.array([0, *self.label_ids], np.uint8)
        return ids[index]


__all__ = ["LabelPropagation", "stride8_descriptors"]
