"""SAM 2.1 (Ravi et al., "SAM 2: Segment Anything in Images and Videos", 2024) as the click model.

We use the `sam2` package only for the network definition (its Hydra configs and modules:
Hiera image encoder, prompt encoder, mask decoder) and load the official checkpoint files
ourselves. Its `SAM2ImagePredictor` is not used: its transforms import torchvision, which has
no CPU build here; `Sam2Segmenter` (segmenter.py) does that small part itself.

Checkpoint format (the official release files `sam2.1_hiera_*.pt`): a dict `{"model":
state_dict}` with the `SAM2Base` parameter names; loaded with `torch.load(weights_only=True)`
and `load_state_dict(strict=True)`: a missing or unexpected key is an error, not a warning.
`save_random_checkpoint` writes a randomly initialised network in that same format, which is
how the loading code is tested without the real weights (no internet here).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import UserError


class ClickModelError(UserError, RuntimeError):
    """The click model cannot be built, loaded or fetched; says what to do instead."""


@dataclass(frozen=True)
class Sam2Spec:
    """One published SAM 2.1 checkpoint."""

    name: str  # our short name, e.g. "sam2.1-tiny"
    config: str  # Hydra config inside the sam2 package
    filename: str
    url: str
    approx_mb: int  # order of size for the page; Meta publishes neither the exact size nor a checksum
    hub_repo: str | None = None  # the same file on the Hugging Face Hub (a Space preloads it from there)
    size: int | None = None  # exact bytes, if published
    sha256: str | None = None  # if published

    @property
    def label(self) -> str:
        return f"SAM 2.1 {self.name.split('-', 1)[1]} ({self.filename})"


RELEASE = "https://dl.fbaipublicfiles.com/segment_anything_2/092824/"
SAM2_MODELS: dict[str, Sam2Spec] = {
    s.name: s
    for s in (
        Sam2Spec("sam2.1-tiny", "configs/sam2.1/sam2.1_hiera_t.yaml", "sam2.1_hiera_tiny.pt", RELEASE + "sam2.1_hiera_tiny.pt", 156,
                 hub_repo="facebook/sam2.1-hiera-tiny"),
        Sam2Spec("sam2.1-small", "configs/sam2.1/sam2.1_hiera_s.yaml", "sam2.1_hiera_small.pt", RELEASE + "sam2.1_hiera_small.pt", 184,
                 hub_repo="facebook/sam2.1-hiera-small"),
    )
}
DEFAULT_MODEL = "sam2.1-tiny"

# The image predictor's post-processing switches of the official `build_sam2` (config, not
# weights): when one click gives an unstable single mask, fall back to the best of the three.
_IMAGE_OVERRIDES = (
    "++model.sam_mask_decoder_extra_args.dynamic_multimask_via_stability=true",
    "++model.sam_mask_decoder_extra_args.dynamic_multimask_stability_delta=0.05",
    "++model.sam_mask_decoder_extra_args.dynamic_multimask_stability_thresh=0.98",
)


def sam2_installed() -> bool:
    return importlib.util.find_spec("sam2") is not None and importlib.util.find_spec("hydra") is not None


def spec_for(name: str) -> Sam2Spec:
    if name not in SAM2_MODELS:
        raise ClickModelError(f"unknown click model '{name}'; choose one of {', '.join(SAM2_MODELS)} or grabcut")
    return SAM2_MODELS[name]


def build_network(spec: Sam2Spec, image_size: int | None = None) -> torch.nn.Module:
    """The SAM 2.1 network of `spec`, randomly initialised (eval mode, CPU).

    image_size: the encoder's input side; None keeps the official 1024. Smaller values only
    serve the fast tests (same parameters, fewer pixels).
    """
    if not sam2_installed():
        raise ClickModelError(
            "the click model needs the `sam2` package: bash scripts/install.sh (or "
            "`SAM2_BUILD_CUDA=0 pip install --no-deps --no-build-isolation sam2==1.1.0 hydra-core iopath`)"
        )
    import sam2  # noqa: F401  (initialises Hydra with the package's configs)
    from hydra import compose
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    overrides = list(_IMAGE_OVERRIDES)
    if image_size is not None:
        overrides.append(f"++model.image_size={int(image_size)}")
    cfg = compose(config_name=spec.config, overrides=overrides)
    OmegaConf.resolve(cfg)
    return instantiate(cfg.model, _recursive_=True).eval()


def load_network(spec: Sam2Spec, path: str | Path, image_size: int | None = None) -> torch.nn.Module:
    """Build the network and load an official-format checkpoint into it, strictly."""
    path = Path(path)
    if not path.exists():
        raise ClickModelError(f"click-model checkpoint '{path}' not found")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a corrupt file; all mean the same here
        raise ClickModelError(f"'{path.name}' is not a readable checkpoint ({type(err).__name__}: {err})") from None
    if not isinstance(blob, dict) or not isinstance(blob.get("model"), dict):
        raise ClickModelError(f"'{path.name}' is not a SAM 2.1 checkpoint: expected a dict with a 'model' state_dict")
    network = build_network(spec, image_size)
    result = network.load_state_dict(blob["model"], strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ClickModelError(
            f"'{path.name}' does not fit {spec.name}: {len(result.missing_keys)} missing keys "
            f"(e.g. {result.missing_keys[:2]}), {len(result.unexpected_keys)} unexpected "
            f"(e.g. {result.unexpected_keys[:2]})"
        )
    return network


def save_random_checkpoint(spec: Sam2Spec, path: str | Path, seed: int = 0) -> Path:
    """A randomly initialised `spec` network saved as the official release files are: {"model": sd}."""
    torch.manual_seed(seed)
    network = build_network(spec)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": network.state_dict()}, path)
    return path
