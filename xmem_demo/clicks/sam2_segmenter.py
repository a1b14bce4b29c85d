"""Click-to-mask with SAM 2.1: encode a frame once, then decode each prompt in milliseconds.

Pre- and post-processing follow the official image predictor (sam2/sam2_image_predictor.py
and sam2/utils/transforms.py), done here with OpenCV/torch instead of torchvision:
- the frame is resized (not padded: SAM 2 squashes) to image_size x image_size, scaled to
  [0, 1] and normalised with the ImageNet mean and std;
- the encoder's three feature levels are flattened, `no_mem_embed` is added to the lowest
  resolution one (SAM 2 was trained on videos: an image is a frame with no memory), and
  they are kept as the frame's `Sam2Embedding`;
- clicks are scaled per axis to the image_size grid; label 1 = include, 0 = exclude; a box is
  two points with labels 2 and 3, placed before the clicks;
- a mask prompt is the previous low-resolution logits (image_size / 4 square);
- low-resolution logits are upsampled bilinearly to the frame size and thresholded at 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Hashable

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .cache import EmbeddingCache
from .prompts import Prediction, Prompt
from .sam2_model import Sam2Spec, load_network

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
PRIOR_LOGIT = 10.0  # a bool prior mask enters as +/- this logit (SAM 2's own mask-as-logits scale is 20x-10)


@dataclass
class Sam2Embedding:
    """One frame's image features: everything the decoder needs, nothing per click."""

    image_embed: torch.Tensor  # 1 x 256 x s/16 x s/16
    high_res: list[torch.Tensor]  # [1 x 32 x s/4 x s/4, 1 x 64 x s/8 x s/8]
    hw: tuple[int, int]  # the frame's size


class Sam2Segmenter:
    """The SAM 2.1 click model. The network is read-only and may be shared by all visitors;
    embeddings are kept only in the caller's (the visitor's) `EmbeddingCache`."""

    name = "sam2"

    def __init__(self, spec: Sam2Spec, checkpoint: str | Path, image_size: int | None = None, device: str = "cpu"):
        self.spec = spec
        self.checkpoint = Path(checkpoint)
        self.device = torch.device(device)
        self.network = load_network(spec, checkpoint, image_size).to(self.device)
        self.image_size = int(self.network.image_size)
        with torch.inference_mode():  # the decoder's positional encoding of the feature grid: constant
            self._dense_pe = self.network.sam_prompt_encoder.get_dense_pe()
        self.label = f"{spec.label}, Meta's Segment Anything 2.1 (checkpoint {self.checkpoint.name})"

    # ---- the expensive half: once per frame -----------------------------------------------
    @torch.inference_mode()
    def embed(self, frame: np.ndarray) -> Sam2Embedding:
        """frame: H x W x 3 uint8 RGB."""
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected an H x W x 3 RGB frame, got shape {frame.shape}")
        s = self.image_size
        resized = cv2.resize(frame, (s, s), interpolation=cv2.INTER_AREA if max(frame.shape[:2]) > s else cv2.INTER_LINEAR)
        x = (resized.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
        x = torch.from_numpy(x).permute(2, 0, 1)[None].to(self.device)
        net = self.network
        backbone = net.forward_image(x)
        _, feats, _, sizes = net._prepare_backbone_features(backbone)
        if net.directly_add_no_mem_embed:
            feats[-1] = feats[-1] + net.no_mem_embed
        maps = [f.permute(1, 2, 0).reshape(1, -1, h, w) for f, (h, w) in zip(feats, sizes)]
        return Sam2Embedding(image_embed=maps[-1], high_res=maps[:-1], hw=frame.shape[:2])

    def cached_embedding(self, frame: np.ndarray, cache: EmbeddingCache | None, key: Hashable | None) -> Sam2Embedding:
        if cache is None or key is None:
            return self.embed(frame)
        return cache.get_or_compute((self.spec.name, str(self.checkpoint), self.image_size, key), lambda: self.embed(frame))

    # ---- the cheap half: once per click ---------------------------------------------------
    def prior_to_logits(self, mask: np.ndarray) -> np.ndarray:
        """A bool mask (e.g. propagated by XMem) as a mask prompt: +/-PRIOR_LOGIT at image_size / 4."""
        side = self.image_size // 4
        small = cv2.resize(mask.astype(np.float32), (side, side), interpolation=cv2.INTER_AREA)
        return ((small > 0.5).astype(np.float32) * 2 - 1) * PRIOR_LOGIT

    @torch.inference_mode()
    def decode(self, embedding: Sam2Embedding, prompt: Prompt) -> Prediction:
        h, w = embedding.hw
        if not prompt.has_positive and prompt.prior_mask is None and prompt.prior_logits is None:
            return Prediction.empty((h, w))
        net, s = self.network, self.image_size
        coords, labels = [], []
        if prompt.box is not None:
            x0, y0, x1, y1 = prompt.box.ordered()
            coords += [(x0, y0), (x1, y1)]
            labels += [2, 3]
        for c in prompt.clicks:
            coords.append((float(c.x), float(c.y)))
            labels.append(1 if c.positive else 0)
        points = None
        if coords:
            xy = torch.tensor(coords, dtype=torch.float32, device=self.device)[None]
            # Pixel centres: SAM 2 scales normalised coordinates (x / W, y / H) by image_size.
            xy = xy / torch.tensor([w, h], dtype=torch.float32, device=self.device) * s
            points = (xy, torch.tensor([labels], dtype=torch.int32, device=self.device))
        mask_logits = prompt.prior_logits
        if mask_logits is None and prompt.prior_mask is not None:
            mask_logits = self.prior_to_logits(prompt.prior_mask)
        mask_input = None if mask_logits is None else torch.from_numpy(np.asarray(mask_logits, np.float32))[None, None].to(self.device)
        # One click alone is ambiguous (whole / part / sub-part): ask for three candidates.
        multimask = len(coords) == 1 and mask_input is None
        sparse, dense = net.sam_prompt_encoder(points=points, boxes=None, masks=mask_input)
        low_res, iou, _, _ = net.sam_mask_decoder(
            image_embeddings=embedding.image_embed,
            image_pe=self._dense_pe,
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=multimask,
            repeat_image=False,
            high_res_features=embedding.high_res,
        )
        low_res = low_res.clamp(-32.0, 32.0)
        full = F.interpolate(low_res, size=(h, w), mode="bilinear", align_corners=False)[0] > 0
        scores = iou[0].float().cpu().tolist()
        return Prediction(
            masks=[m.cpu().numpy() for m in full],
            scores=scores,
            logits=[m.cpu().numpy() for m in low_res[0]],
            best=int(np.argmax(scores)),
        )

    def predict(
        self, frame: np.ndarray, prompt: Prompt, cache: EmbeddingCache | None = None, key: Hashable | None = None
    ) -> Prediction:
        prompt.check_inside(frame.shape[:2])
        return self.decode(self.cached_embedding(frame, cache, key), prompt)

    def segment(self, frame: np.ndarray, clicks) -> np.ndarray:
        """The plain interface shared with GrabCut: clicks -> the best mask (no cache, no refinement)."""
        return self.predict(frame, Prompt(clicks=list(clicks))).mask
