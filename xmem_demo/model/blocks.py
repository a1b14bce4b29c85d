"""Building blocks shared by the value encoder and the decoder.

Tensors that depend on an object mask carry an object axis: B x N x C x H x W
("g" features in the paper's code); image-only features are B x C x H x W ("x").
Group modules apply the same 2D layer to every object, so the network is
permutation-equivariant over objects.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def per_object(fn, g: torch.Tensor) -> torch.Tensor:
    """Apply a B*N-batched 2D op to B x N x C x H x W features."""
    b, n = g.shape[:2]
    out = fn(g.flatten(0, 1))
    return out.view(b, n, *out.shape[1:])


def resize_objects(g: torch.Tensor, scale: float, mode: str) -> torch.Tensor:
    align = False if mode == "bilinear" else None
    return per_object(lambda x: F.interpolate(x, scale_factor=scale, mode=mode, align_corners=align), g)


def broadcast_cat(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Concatenate image features x (B,C,H,W) in front of every object's g (B,N,C',H,W)."""
    return torch.cat([x.unsqueeze(1).expand(-1, g.shape[1], -1, -1, -1), g], 2)


class GroupConv2d(nn.Conv2d):
    """A Conv2d applied to each object's feature map independently."""

    def forward(self, g: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return per_object(super().forward, g)


class GroupResBlock(nn.Module):
    """Pre-activation residual block (relu-conv-relu-conv, no BatchNorm).

    When the width changes the shortcut is a 3x3 convolution of the un-activated input.
    """

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.downsample = None if in_dim == out_dim else GroupConv2d(in_dim, out_dim, 3, padding=1)
        self.conv1 = GroupConv2d(in_dim, out_dim, 3, padding=1)
        self.conv2 = GroupConv2d(out_dim, out_dim, 3, padding=1)

    def forward(self, g: torch.Tensor) -> torch.Tensor:
        out = self.conv2(F.relu(self.conv1(F.relu(g))))
        shortcut = g if self.downsample is None else self.downsample(g)
        return out + shortcut


class ChannelGate(nn.Module):
    """CBAM channel attention: an MLP over average- and max-pooled channels."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        # Index layout (Flatten, Linear, ReLU, Linear) matches the official state_dict keys.
        self.mlp = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels, channels // reduction),
            nn.ReLU(),
            nn.Linear(channels // reduction, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = F.adaptive_avg_pool2d(x, 1)
        mx = F.adaptive_max_pool2d(x, 1)
        scale = torch.sigmoid(self.mlp(avg) + self.mlp(mx))
        return x * scale[:, :, None, None]


class _SpatialConv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 7, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class SpatialGate(nn.Module):
    """CBAM spatial attention: a 7x7 conv over channel-max and channel-mean maps."""

    def __init__(self) -> None:
        super().__init__()
        self.spatial = _SpatialConv()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], 1)
        return x * torch.sigmoid(self.spatial(pooled))


class CBAM(nn.Module):
    """Convolutional Block Attention Module (Woo et al. 2018): channel then spatial gate."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.ChannelGate = ChannelGate(channels)
        self.SpatialGate = SpatialGate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.SpatialGate(self.ChannelGate(x))


class FeatureFusionBlock(nn.Module):
    """Fuse image features x into every object's features g: res-block, CBAM, res-block."""

    def __init__(self, x_dim: int, g_dim: int, mid_dim: int, out_dim: int) -> None:
        super().__init__()
        self.block1 = GroupResBlock(x_dim + g_dim, mid_dim)
        self.attention = CBAM(mid_dim)
        self.block2 = GroupResBlock(mid_dim, out_dim)

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        g = self.block1(broadcast_cat(x, g))
        g = g + per_object(self.attention, g)
        return self.block2(g)


def gru_update(gates: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """XMem's GRU variant (Sec. 3.2, sensory memory).

    `gates` has 3*C_h channels in the order forget, update, candidate; the candidate is
    computed from [features, h] without a reset gate:
        h' = forget * h * (1 - update) + update * tanh(candidate)
    """
    c = h.shape[2]
    forget = torch.sigmoid(gates[:, :, :c])
    update = torch.sigmoid(gates[:, :, c : 2 * c])
    candidate = torch.tanh(gates[:, :, 2 * c :])
    return forget * h * (1 - update) + update * candidate


class HiddenUpdater(nn.Module):
    """Sensory-memory update from the decoder's multi-scale features (every frame)."""

    def __init__(self, g_dims: tuple[int, int, int], mid_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.g16_conv = GroupConv2d(g_dims[0], mid_dim, 1)
        self.g8_conv = GroupConv2d(g_dims[1], mid_dim, 1)
        self.g4_conv = GroupConv2d(g_dims[2], mid_dim, 1)
        self.transform = GroupConv2d(mid_dim + hidden_dim, hidden_dim * 3, 3, padding=1)
        nn.init.xavier_normal_(self.transform.weight)

    def forward(self, g16: torch.Tensor, g8: torch.Tensor, g4: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        g = (
            self.g16_conv(g16)
            + self.g8_conv(resize_objects(g8, 0.5, "area"))
            + self.g4_conv(resize_objects(g4, 0.25, "area"))
        )
        return gru_update(self.transform(torch.cat([g, h], 2)), h)


class HiddenReinforcer(nn.Module):
    """Sensory-memory 'deep update' from the value encoder's features (memory frames)."""

    def __init__(self, g_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.transform = GroupConv2d(g_dim + hidden_dim, hidden_dim * 3, 3, padding=1)
        nn.init.xavier_normal_(self.transform.weight)

    def forward(self, g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return gru_update(self.transform(torch.cat([g, h], 2)), h)


def soft_aggregate(prob: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft aggregation of per-object probabilities (from STM), adding a background channel.

    Background = prod(1 - p); every channel is clamped to [1e-7, 1 - 1e-7], turned into
    logits log(p / (1 - p)) and soft-maxed. Returns (logits, probabilities).
    """
    with_bg = torch.cat([torch.prod(1 - prob, dim=dim, keepdim=True), prob], dim).clamp(1e-7, 1 - 1e-7)
    logits = torch.log(with_bg / (1 - with_bg))
    return logits, F.softmax(logits, dim=dim)
