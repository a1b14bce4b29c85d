"""XMem as one nn.Module: the network only, no memory and no checkpoint I/O.

The per-frame protocol (when to write memory, when to deep-update) lives in
`xmem_demo.session`; the memory tiers in `xmem_demo.memory`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from ..config import ModelConfig
from .blocks import soft_aggregate
from .decoder import Decoder
from .encoders import KeyProjection, ValueEncoder, make_key_encoder

if TYPE_CHECKING:
    from .inference import InferenceReport


class XMem(nn.Module):
    # None on a network as loaded or trained. `make_inference_network` returns a separate,
    # inference-only copy (BatchNorm folded, ...) and records there what it did; a network
    # with a report is already such a copy. Declared here so it is part of the class, not
    # an attribute patched on from outside.
    inference_report: InferenceReport | None = None

    def __init__(self, config: ModelConfig = ModelConfig()) -> None:
        super().__init__()
        self.config = config
        self.key_encoder = make_key_encoder(config)
        self.value_encoder = ValueEncoder(config)
        self.key_proj = KeyProjection(config.f16_dim, config.key_dim)
        self.decoder = Decoder(config)

    def encode_key(
        self, image: torch.Tensor, need_shrinkage: bool = True, need_selection: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """image B x 3 x H x W (normalised, H and W multiples of 16).

        Returns key, shrinkage, selection (B x C x H/16 x W/16) and the features (f16, f8, f4).
        """
        f16, f8, f4 = self.key_encoder(image)
        key, shrinkage, selection = self.key_proj(f16, need_shrinkage, need_selection)
        return key, shrinkage, selection, (f16, f8, f4)

    def encode_value(
        self,
        image: torch.Tensor,
        f16: torch.Tensor,
        hidden: torch.Tensor | None,
        masks: torch.Tensor,
        deep_update: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.value_encoder(image, f16, hidden, masks, deep_update)

    def segment(
        self,
        features: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
        readout: torch.Tensor,
        hidden: torch.Tensor | None,
        update_hidden: bool = True,
        selector: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor]:
        """Decode; returns (new hidden or None, logits with background, probabilities with background).

        selector (B x N, training only) zeroes the probability of padding objects.
        """
        new_hidden, logits = self.decoder(*features, hidden, readout, update_hidden)
        # float32 even under autocast: the aggregation clamps at 1 - 1e-7, which is 1.0 in fp16.
        prob = torch.sigmoid(logits.float())
        if selector is not None:
            prob = prob * selector[:, :, None, None]
        agg_logits, prob = soft_aggregate(prob, dim=1)
        return new_hidden, agg_logits, prob
