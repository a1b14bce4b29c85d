"""Which click model runs: SAM 2.1 when it can, GrabCut (labelled as the offline fallback) otherwise.

`XMEM_DEMO_CLICK_MODEL` chooses: `auto` (default: SAM 2.1 tiny if the `sam2` package is
installed and its weights are in the cache, else GrabCut), `grabcut`, `sam2.1-tiny`,
`sam2.1-small`. `XMEM_DEMO_CLICK_CHECKPOINT` points to a checkpoint file in the official format
instead of the cached one (the browser test uses a random-weight one). `XMEM_DEMO_CLICK_IMAGE_SIZE`
shrinks the encoder input for fast tests only (the official size is 1024).

The loaded network is cached per process (read-only weights, like the XMem network); the
per-visitor parts (embeddings, logits) live in each visitor's `ClickSession`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .grabcut import GrabCutSegmenter
from .sam2_model import DEFAULT_MODEL, SAM2_MODELS, ClickModelError, sam2_installed, spec_for


@dataclass(frozen=True)
class ClickModelChoice:
    name: str  # "grabcut" or a SAM2_MODELS name
    checkpoint: Path | None
    reason: str  # why this one (shown in the page for the fallback)


def requested_model() -> str:
    return os.environ.get("XMEM_DEMO_CLICK_MODEL", "auto").strip() or "auto"


def resolve_click_model(name: str | None = None) -> ClickModelChoice:
    """What would run now, without loading anything."""
    from .download import cached_checkpoint

    name = requested_model() if name is None else name
    if name == "grabcut":
        return ClickModelChoice("grabcut", None, "GrabCut was requested")
    sam_name = DEFAULT_MODEL if name == "auto" else spec_for(name).name
    if not sam2_installed():
        return ClickModelChoice("grabcut", None, "the `sam2` package is not installed")
    override = os.environ.get("XMEM_DEMO_CLICK_CHECKPOINT")
    path = Path(override) if override else cached_checkpoint(sam_name)
    if not path.exists():
        why = f"{path} does not exist" if override else f"the {SAM2_MODELS[sam_name].filename} weights are not downloaded yet"
        return ClickModelChoice("grabcut", None, why)
    return ClickModelChoice(sam_name, path, "")


def _image_size() -> int | None:
    value = os.environ.get("XMEM_DEMO_CLICK_IMAGE_SIZE")
    return int(value) if value else None


@lru_cache(maxsize=2)
def _load_sam2(name: str, path: str, mtime_ns: int, image_size: int | None, device: str):
    from .sam2_segmenter import Sam2Segmenter

    return Sam2Segmenter(spec_for(name), path, image_size=image_size, device=device)


def load_click_model(choice: ClickModelChoice, device: str = "cpu"):
    if choice.checkpoint is None:
        return GrabCutSegmenter()
    path = choice.checkpoint
    return _load_sam2(choice.name, str(path), path.stat().st_mtime_ns, _image_size(), str(device))


def choose_segmenter(device: str = "cpu"):
    """The click model to use now (never downloads: see download.download_click_model)."""
    return load_click_model(resolve_click_model(), device)


__all__ = ["ClickModelChoice", "ClickModelError", "choose_segmenter", "load_click_model", "resolve_click_model"]
