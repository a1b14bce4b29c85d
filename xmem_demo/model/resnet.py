"""ResNet trunks for the query (key) and value encoders, written for this project.

XMem uses the first three stages of a ResNet-50 as the query encoder (features at
strides 4, 8 and 16) and of a ResNet-18 as the value encoder (Sec. 3.1 of the paper).
Module names follow torchvision's ResNet so that the official checkpoints load unchanged;
widths and depths are parameters so that the bundled `mini` model can be narrower.
"""

from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet-18/34)."""

    expansion = 1

    def __init__(self, in_dim: int, width: int, stride: int = 1) -> None:
        super().__init__()
        out_dim = width * self.expansion
        self.conv1 = nn.Conv2d(in_dim, width, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _projection(in_dim, out_dim, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class Bottleneck(nn.Module):
    """1x1 - 3x3 - 1x1 bottleneck with a residual connection (ResNet-50 and deeper)."""

    expansion = 4

    def __init__(self, in_dim: int, width: int, stride: int = 1) -> None:
        super().__init__()
        out_dim = width * self.expansion
        self.conv1 = nn.Conv2d(in_dim, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_dim, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_dim)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _projection(in_dim, out_dim, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


def _projection(in_dim: int, out_dim: int, stride: int) -> nn.Sequential | None:
    """1x1 strided convolution + BN on the shortcut when the shape changes."""
    if stride == 1 and in_dim == out_dim:
        return None
    return nn.Sequential(
        nn.Conv2d(in_dim, out_dim, 1, stride=stride, bias=False),
        nn.BatchNorm2d(out_dim),
    )


def make_stage(block: type[nn.Module], in_dim: int, width: int, num_blocks: int, stride: int) -> nn.Sequential:
    """One ResNet stage; only its first block changes resolution / width."""
    blocks = [block(in_dim, width, stride)]
    out_dim = width * block.expansion
    blocks += [block(out_dim, width, 1) for _ in range(num_blocks - 1)]
    return nn.Sequential(*blocks)


def init_resnet_(module: nn.Module) -> None:
    """He-normal convolutions, unit BatchNorm (the classic ResNet initialisation)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
