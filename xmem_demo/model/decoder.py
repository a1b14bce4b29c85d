"""The XMem decoder (Sec. 3.1): memory readout + sensory memory -> object logits.

It fuses the readout with the query's f16, upsamples through f8 and f4 skip connections,
predicts one logit map per object at stride 4 (upsampled x4 to the image), and, on
ordinary frames, updates the sensory memory from its multi-scale features.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig
from .blocks import FeatureFusionBlock, GroupResBlock, HiddenUpdater, resize_objects


class UpsampleBlock(nn.Module):
    """x2 bilinear upsampling of object features, plus a projected skip connection."""

    def __init__(self, skip_dim: int, up_dim: int, out_dim: int) -> None:
        super().__init__()
        self.skip_conv = nn.Conv2d(skip_dim, up_dim, 3, padding=1)
        self.out_conv = GroupResBlock(up_dim, out_dim)

    def forward(self, skip: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        g = resize_objects(g, 2, "bilinear") + self.skip_conv(skip).unsqueeze(1)
        return self.out_conv(g)


class Decoder(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        d16, d8 = cfg.decoder_dims
        self.fuser = FeatureFusionBlock(cfg.f16_dim, cfg.value_dim + cfg.hidden_dim, d16, d16)
        self.hidden_update = HiddenUpdater((d16, d8, d8 + 1), d8, cfg.hidden_dim) if cfg.hidden_dim > 0 else None
        self.up_16_8 = UpsampleBlock(cfg.f8_dim, d16, d8)
        self.up_8_4 = UpsampleBlock(cfg.f4_dim, d8, d8)
        self.pred = nn.Conv2d(d8, 1, 3, padding=1)

    def forward(
        self,
        f16: torch.Tensor,
        f8: torch.Tensor,
        f4: torch.Tensor,
        hidden: torch.Tensor | None,
        readout: torch.Tensor,
        update_hidden: bool = True,
    ) -> tuple[torch.Tensor | None, torch.Tensor]:
        """readout B x N x C^v x h x w -> (new hidden or None, logits B x N x H x W)."""
        b, n = readout.shape[:2]
        g16 = self.fuser(f16, readout if self.hidden_update is None else torch.cat([readout, hidden], 2))
        g8 = self.up_16_8(f8, g16)
        g4 = self.up_8_4(f4, g8)
        logits = self.pred(F.relu(g4.flatten(0, 1)))

        new_hidden = None
        if update_hidden and self.hidden_update is not None:
            g4 = torch.cat([g4, logits.view(b, n, 1, *logits.shape[-2:])], 2)
            new_hidden = self.hidden_update(g16, g8, g4, hidden)

        logits = F.interpolate(logits, scale_factor=4, mode="bilinear", align_corners=False)
        return new_hidden, logits.view(b, n, *logits.shape[-2:])


__all__ = ["Decoder", "UpsampleBlock", "resize_objects"]
