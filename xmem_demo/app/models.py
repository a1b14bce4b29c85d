"""Which XMem weights the app runs, and a small process-wide cache of loaded networks.

The cache is keyed by (weights file, device): weights are read-only, so one loaded network
can serve every visitor (each run has its own `InferenceSession` with its own memory).
Nothing per visitor is kept here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import torch

from ..checkpoint import load_model
from ..model import XMem
from ..session import pick_device
from ..weights import OFFICIAL_FILES, WeightsError, resolve

WEIGHTS_ENV = "XMEM_DEMO_WEIGHTS"  # default weights choice of the app: auto, mini, xmem, or a .pth path


@dataclass(frozen=True)
class Banner:
    text: str
    official: bool
    ok: bool = True  # False: no usable weights at all


def default_weights() -> str:
    return os.environ.get(WEIGHTS_ENV, "auto")


def weights_choices() -> list[tuple[str, str]]:
    """(label, value) pairs for the weights dropdown."""
    choices = [
        ("auto: official XMem if available, else the bundled mini model", "auto"),
        ("official XMem (XMem.pth, downloaded once)", "xmem"),
        ("mini (bundled, trained on synthetic videos)", "mini"),
    ]
    choices += [(f"official {name}", name) for name in OFFICIAL_FILES if name != "xmem"]
    default = default_weights()
    if default not in [v for _, v in choices]:
        choices.append((f"file: {default}", default))
    return choices


def device_choices() -> list[str]:
    out = ["auto", "cpu"]
    if torch.cuda.is_available():
        out.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    return out


def banner(name: str) -> Banner:
    """What would run for `name`, without loading or downloading anything."""
    try:
        choice = resolve(name, allow_download=False)
    except WeightsError as err:
        if name in OFFICIAL_FILES:
            return Banner(
                f"Official weights '{name}' are not cached yet: they are downloaded when you press Track.", True
            )
        return Banner(f"No usable weights: {err}", False, ok=False)
    return Banner(choice.notice, choice.official)


@lru_cache(maxsize=2)
def _load(path: str, device: str, name: str, official: bool) -> XMem:
    model = load_model(path, device=device)
    model.weights_name = name  # type: ignore[attr-defined]
    model.is_official = official  # type: ignore[attr-defined]
    return model


def get_model(name: str, device: str = "auto") -> tuple[XMem, str]:
    """Load (once per process) the network for a weights choice; returns (model, notice).

    May download the official weights (unless XMEM_DEMO_OFFLINE=1). Raises WeightsError or
    CheckpointError with a message for the visitor.
    """
    choice = resolve(name, allow_download=True)
    dev = str(pick_device(device))
    return _load(str(choice.path), dev, choice.name, choice.official), choice.notice
