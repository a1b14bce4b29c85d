"""Loading checkpoints safely: official XMem release files and this project's own.

Two formats are accepted, both read with `torch.load(..., weights_only=True)` so that a
checkpoint can never run code:

* **official** (XMem.pth, XMem-s012.pth, ...): a flat state_dict. The network sizes
  (C^k, C^v, C^h) are read from the tensors, as the official code does.
* **xmem-demo** (the bundled `mini` model): a dict with `format: "xmem-demo"`,
  `model_config` (a `ModelConfig` as a dict), `state_dict`, and a short `model_card`.

Anything else (a truncated download, a pickle, another network) raises `CheckpointError`
naming the file and what is wrong.

What a loaded network *is* (which weights, which file, which format, its model card, what to
tell the user) comes back beside it as a `WeightsInfo`; nothing is patched onto the
`nn.Module`. `load_model(path)` returns the plain network, `load_model_with_info(path)` the
network and its `WeightsInfo`; `weights.resolve_model(name)` fills in the chosen name.
"""

from __future__ import annotations

import pickle
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch

from .config import ModelConfig
from .errors import UserError
from .model import XMem
from .model.efficientnet_lite import TrunkMissing, load_trunk_state

# A pretrained trunk (the `lite` model's EfficientNet-Lite0) is not stored in our checkpoints:
# it is loaded from its installed package (sha256 checked) when the network is built.
TRUNK_PREFIX = "key_encoder.trunk."

FORMAT_TAG = "xmem-demo"


class CheckpointError(UserError, ValueError):
    """A checkpoint file that cannot be used, with the reason."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"cannot load checkpoint '{path}': {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True)
class WeightsInfo:
    """Which weights a network was loaded from, returned beside it: `(model, info)`.

    name: what the user chose: an official name ("xmem", "xmem-s012", ...), "mini", or the
        path given.
    official: True only for the XMem authors' release files chosen by name (and checked
        against their recorded digest, see `weights.py`); a file given by path is never
        claimed official, whatever its format.
    path: the checkpoint file read.
    checkpoint_format: "official" (a flat state_dict, as the release files are) or
        "xmem-demo" (this project's format, e.g. the bundled mini model).
    model_card: the short description an xmem-demo checkpoint carries ("" for official files).
    notice: one line for the user: which model runs, and why.
    """

    name: str
    official: bool
    path: Path
    checkpoint_format: str
    model_card: str
    notice: str

    @property
    def label(self) -> str:
        """A short label for a status line: "official XMem (xmem)", "mini (not the official XMem)"."""
        if self.official:
            return f"official XMem ({self.name})"
        return f"{Path(self.name).name} (not the official XMem)"


def file_notice(path: str | Path) -> str:
    """The notice for weights given as a file path."""
    return f"Running weights from {path}."


@dataclass
class LoadedCheckpoint:
    state_dict: dict[str, torch.Tensor]
    model_config: ModelConfig
    format: str  # "official" or "xmem-demo"
    model_card: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _read_file(path: Path) -> Any:
    if not path.exists():
        raise CheckpointError(path, "file not found")
    if path.is_dir():
        raise CheckpointError(path, "is a directory, expected a .pth file")
    if not path.is_file():  # a FIFO would block the read forever, a device never ends
        raise CheckpointError(path, "is not a regular file (a FIFO, device or socket); give a .pth file")
    if path.stat().st_size == 0:
        raise CheckpointError(path, "file is empty")
    with open(path, "rb") as f:
        head = f.read(2)
    is_zip = zipfile.is_zipfile(path)
    if not is_zip and head[:1] != b"\x80":  # torch.save writes a zip (or, legacy, a pickle)
        raise CheckpointError(path, "not a PyTorch checkpoint (neither a torch.save zip nor a pickle); corrupt or truncated")
    if is_zip:
        check_zip_records(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(path, refusal_reason(str(err))) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(path, f"corrupt or truncated file ({msg[:200]})") from None


def check_zip_records(path: Path) -> None:
    """Every record of a torch.save zip against the CRC32 stored beside it.

    torch.load does not check them: a byte changed inside a tensor (a bad disk, a damaged copy)
    loads silently as a slightly different network. Reading the records once costs about as
    much as the load itself (zlib.crc32 runs at GB/s)."""
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as err:
        raise CheckpointError(path, f"corrupt zip container ({str(err).strip() or type(err).__name__})") from None
    if bad is not None:
        raise CheckpointError(
            path, f"damaged: the record '{bad}' fails its CRC32 check (its bytes changed after it was written); "
            "get a fresh copy of the file"
        )


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def refusal_reason(torch_message: str) -> str:
    """Why weights_only loading refused a file: the object torch names, in full, and torch's own
    warning about the alternative, kept whole (cut short, it read as advice to disable the check)."""
    lines = [_ANSI.sub("", ln).strip() for ln in torch_message.strip().splitlines() if ln.strip()]
    refused = next((ln for ln in lines if "Unsupported global" in ln), lines[-1] if lines else "an unsupported object")
    refused = refused.removeprefix("WeightsUnpickler error:").strip()
    warning = next((ln for ln in lines if "arbitrary code" in ln), "")
    warning = warning[warning.find("Re-running"):] if "Re-running" in warning else warning
    if not warning:
        warning = "loading it with weights_only=False can result in arbitrary code execution."
    return (
        f"not a plain tensor checkpoint: it holds Python objects that weights_only loading refuses ({refused}). "
        f"xmem-demo never loads such files. Torch's warning: {warning}"
    )


def infer_official_config(state_dict: Mapping[str, torch.Tensor]) -> ModelConfig:
    """Network sizes from an official state_dict, the way the official XMem code reads them."""
    key_dim = state_dict["key_proj.key_proj.weight"].shape[0]
    value_dim = state_dict["value_encoder.fuser.block2.conv2.weight"].shape[0]
    transform = state_dict.get("decoder.hidden_update.transform.weight")
    hidden_dim = 0 if transform is None else transform.shape[0] // 3
    single_object = state_dict["value_encoder.conv1.weight"].shape[1] == 4
    return ModelConfig(key_dim=key_dim, value_dim=value_dim, hidden_dim=hidden_dim, single_object=single_object)


def read_checkpoint(path: str | Path) -> LoadedCheckpoint:
    """Read and validate the container; does not build the network."""
    path = Path(path)
    obj = _read_file(path)
    if not isinstance(obj, Mapping):
        raise CheckpointError(path, f"expected a dict of tensors, found {type(obj).__name__}")

    if obj.get("format") == FORMAT_TAG:
        try:
            cfg = ModelConfig.from_dict(dict(obj["model_config"]))
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(path, f"bad model_config ({err})") from None
        state = obj.get("state_dict")
        if not isinstance(state, Mapping):
            raise CheckpointError(path, "xmem-demo checkpoint without a state_dict")
        extra = {k: v for k, v in obj.items() if k not in ("format", "model_config", "state_dict", "model_card")}
        return LoadedCheckpoint(dict(state), cfg, FORMAT_TAG, str(obj.get("model_card", "")), extra)

    non_tensors = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if non_tensors:
        raise CheckpointError(
            path, f"not an XMem state_dict: entries that are not tensors, e.g. {non_tensors[:3]}"
        )
    state = dict(obj)
    if any(k.startswith("module.") for k in state):
        # Saved from nn.DataParallel during training.
        state = {k.removeprefix("module."): v for k, v in state.items()}
    required = [
        "key_proj.key_proj.weight",
        "value_encoder.fuser.block2.conv2.weight",
        "value_encoder.conv1.weight",
    ]
    missing = [k for k in required if k not in state]
    if missing:
        sample = list(state)[:3]
        raise CheckpointError(
            path, f"not an XMem checkpoint: missing {missing[:3]} (first keys in the file: {sample})"
        )
    return LoadedCheckpoint(state, infer_official_config(state), "official")


def build_model(ckpt: LoadedCheckpoint, path: str | Path = "<memory>") -> XMem:
    """Construct the network for `ckpt` and load its weights with strict=True.

    A network on a pretrained trunk gets the trunk from its package first (a `TrunkMissing`
    error, naming the package to install, when it is not there).
    """
    model = XMem(ckpt.model_config)
    expected = model.state_dict()
    if ckpt.model_config.pretrained_trunk:
        load_trunk_state(model.key_encoder.trunk)
        expected = {k: v for k, v in expected.items() if not k.startswith(TRUNK_PREFIX)}
    missing = [k for k in expected if k not in ckpt.state_dict]
    unexpected = [k for k in ckpt.state_dict if k not in expected]
    wrong_shape = [
        f"{k}: file {tuple(v.shape)} vs model {tuple(expected[k].shape)}"
        for k, v in ckpt.state_dict.items()
        if k in expected and tuple(v.shape) != tuple(expected[k].shape)
    ]
    if missing or unexpected or wrong_shape:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys, first {missing[:3]}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys, first {unexpected[:3]}")
        if wrong_shape:
            parts.append(f"{len(wrong_shape)} shape mismatches, first {wrong_shape[:2]}")
        raise CheckpointError(path, "architecture does not match: " + "; ".join(parts))
    bad = [k for k, v in ckpt.state_dict.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:  # NaN/Inf weights load and run, silently giving empty masks: refuse them here
        raise CheckpointError(path, f"{len(bad)} tensors hold NaN or Inf values (first: {bad[:3]}); the file is damaged")
    # Every key was checked against `expected` above; only the trunk's (loaded above) are absent.
    model.load_state_dict(ckpt.state_dict, strict=not ckpt.model_config.pretrained_trunk)
    return model.eval()


def load_model_with_info(
    path: str | Path, device: str | torch.device = "cpu", channels_last: bool | None = None
) -> tuple[XMem, WeightsInfo]:
    """Load an XMem network from a checkpoint file (official or xmem-demo format), in eval mode,
    with the file's `WeightsInfo` (named by its path, not claimed official).

    channels_last: store the convolution weights channels-last (NHWC), so that oneDNN runs
    every convolution in its faster NHWC layout (same values; the convolutions are most of a
    frame on CPU, see benchmarks/README.md). None: on CPU only. The model is new, so this
    changes no object of the caller's (an `InferenceSession` never converts a model in place).
    """
    ckpt = read_checkpoint(path)
    model = build_model(ckpt, path).to(device)
    if channels_last is None:
        channels_last = torch.device(device).type == "cpu"
    if channels_last:
        model.to(memory_format=torch.channels_last)
    info = WeightsInfo(
        name=str(path),
        official=False,
        path=Path(path),
        checkpoint_format=ckpt.format,
        model_card=ckpt.model_card,
        notice=file_notice(path),
    )
    return model, info


def load_model(path: str | Path, device: str | torch.device = "cpu", channels_last: bool | None = None) -> XMem:
    """The plain network of `load_model_with_info` (same arguments)."""
    return load_model_with_info(path, device, channels_last)[0]


def save_checkpoint(
    model: XMem, path: str | Path, model_card: str = "", **extra: Any
) -> None:
    """Write this project's format (used for the bundled mini model)."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if model.config.pretrained_trunk:  # the trunk ships in its own package, not in our file
        state = {k: v for k, v in state.items() if not k.startswith(TRUNK_PREFIX)}
    payload = {
        "format": FORMAT_TAG,
        "model_config": model.config.to_dict(),
        "state_dict": state,
        "model_card": model_card,
        **extra,
    }
    tmp = Path(str(path) + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
