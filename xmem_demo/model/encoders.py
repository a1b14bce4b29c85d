"""The two encoders of XMem (Sec. 3.1) and the key projection (Sec. 3.3).

* Query (key) encoder: image -> multi-scale features f16, f8, f4; run on every frame.
* Key projection: f16 -> key k, shrinkage s (memory frames) and selection e (queries).
* Value encoder: image + object masks (+ f16 and the sensory memory) -> per-object
  value v written to working memory; on "deep update" frames it also refreshes the
  sensory memory.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig
from .blocks import FeatureFusionBlock, HiddenReinforcer, broadcast_cat
from .efficientnet_lite import LiteTrunk
from .resnet import BasicBlock, Bottleneck, init_resnet_, make_stage


class KeyEncoder(nn.Module):
    """ResNet (bottleneck) stem + 3 stages. Returns f16, f8, f4 (strides 16, 8, 4)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        w = cfg.key_width
        self.conv1 = nn.Conv2d(3, w, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.res2 = make_stage(Bottleneck, w, w, cfg.key_blocks[0], stride=1)
        self.layer2 = make_stage(Bottleneck, w * 4, w * 2, cfg.key_blocks[1], stride=2)
        self.layer3 = make_stage(Bottleneck, w * 8, w * 4, cfg.key_blocks[2], stride=2)
        init_resnet_(self)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = F.relu(self.bn1(self.conv1(image)))
        x = F.max_pool2d(x, 3, stride=2, padding=1)
        f4 = self.res2(x)
        f8 = self.layer2(f4)
        f16 = self.layer3(f8)
        return f16, f8, f4


class PretrainedKeyEncoder(nn.Module):
    """A frozen ImageNet trunk as the query encoder (the `lite` model): f16, f8, f4 as it computes them.

    As XMem builds on an ImageNet ResNet-50, the `lite` model builds on ImageNet
    EfficientNet-Lite0 (`efficientnet_lite.py`), but never trains it: its features are the
    ones ImageNet taught, and only the parts after it (key projection, value encoder,
    decoder, sensory GRU) are trained. The trunk therefore stays in eval mode (fixed
    BatchNorm statistics) and without gradients whatever `train()` is called with. Its
    weights come from the installed package (`checkpoint.build_model` loads them).
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.trunk = LiteTrunk()
        self.trunk.requires_grad_(False)

    def train(self, mode: bool = True) -> "PretrainedKeyEncoder":
        super().train(mode)
        self.trunk.eval()  # frozen: BatchNorm keeps the ImageNet statistics
        return self

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.trunk(image)


def make_key_encoder(cfg: ModelConfig) -> nn.Module:
    """The query encoder the config names: a ResNet of our own weights, or a pretrained trunk."""
    return PretrainedKeyEncoder(cfg) if cfg.pretrained_trunk else KeyEncoder(cfg)


class KeyProjection(nn.Module):
    """Projects f16 to the key k, the shrinkage s = d^2 + 1 >= 1, and the selection e in (0, 1).

    Shrinkage scales how peaked a memory element's similarity is; selection weights the
    key channels a query cares about (the anisotropic L2 similarity, Eq. 3).
    """

    def __init__(self, in_dim: int, key_dim: int) -> None:
        super().__init__()
        self.key_proj = nn.Conv2d(in_dim, key_dim, 3, padding=1)
        self.d_proj = nn.Conv2d(in_dim, 1, 3, padding=1)
        self.e_proj = nn.Conv2d(in_dim, key_dim, 3, padding=1)
        nn.init.orthogonal_(self.key_proj.weight)
        nn.init.zeros_(self.key_proj.bias)

    def forward(
        self, f16: torch.Tensor, need_shrinkage: bool = True, need_selection: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        shrinkage = self.d_proj(f16) ** 2 + 1 if need_shrinkage else None
        selection = torch.sigmoid(self.e_proj(f16)) if need_selection else None
        return self.key_proj(f16), shrinkage, selection


class ValueEncoder(nn.Module):
    """ResNet (basic-block) trunk over [image, object mask, other objects' mask], fused with f16."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        w = cfg.value_width
        in_channels = 3 + (1 if cfg.single_object else 2)
        self.single_object = cfg.single_object
        self.conv1 = nn.Conv2d(in_channels, w, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.layer1 = make_stage(BasicBlock, w, w, cfg.value_blocks[0], stride=1)
        self.layer2 = make_stage(BasicBlock, w, w * 2, cfg.value_blocks[1], stride=2)
        self.layer3 = make_stage(BasicBlock, w * 2, w * 4, cfg.value_blocks[2], stride=2)
        init_resnet_(self)
        self.fuser = FeatureFusionBlock(cfg.f16_dim, cfg.value_trunk_dim, cfg.value_dim, cfg.value_dim)
        self.hidden_reinforce = HiddenReinforcer(cfg.value_dim, cfg.hidden_dim) if cfg.hidden_dim > 0 else None

    def forward(
        self,
        image: torch.Tensor,
        f16: torch.Tensor,
        hidden: torch.Tensor | None,
        masks: torch.Tensor,
        deep_update: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """image B x 3 x H x W, masks B x N x H x W (object probabilities, no background).

        Returns the value B x N x C^v x H/16 x W/16 and the (possibly updated) hidden state.
        """
        if self.single_object:
            g = masks.unsqueeze(2)
        else:
            # "others" channel: the sum of all other objects' probabilities.
            others = masks.sum(1, keepdim=True) - masks if masks.shape[1] > 1 else torch.zeros_like(masks)
            g = torch.stack([masks, others], 2)
        g = broadcast_cat(image, g)
        b, n = g.shape[:2]
        g = self.bn1(self.conv1(g.flatten(0, 1)))
        g = F.relu(F.max_pool2d(g, 3, stride=2, padding=1))
        g = self.layer3(self.layer2(self.layer1(g)))
        g = self.fuser(f16, g.view(b, n, *g.shape[1:]))
        if deep_update and self.hidden_reinforce is not None and hidden is not None:
            hidden = self.hidden_reinforce(g, hidden)
        return g, hidden
