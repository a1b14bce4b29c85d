"""Checks run before any work starts: settings, devices, frames and the places results go.

Each check raises `InputError` (a ValueError) with one line that names the argument or file,
what is wrong, and what to do. The CLI prints it and exits with code 2; the app shows it; the
Python API raises it. Nothing here loads a model or decodes a frame.
"""

from __future__ import annotations

import numbers
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
import torch

from .config import MemoryConfig
from .errors import InputError
from .hardware import pick_device
from .limits import DISK_MARGIN_BYTES, MAX_WORKING_PIXELS, MIN_SIDE, MIN_WORKING_SIZE, working_pixels_message
from .geometry import working_shape

PRECISIONS = ("fp32", "bf16", "fp16")


# ---- settings -------------------------------------------------------------------------------
def check_int(name: str, value: object, minimum: int | None = None) -> int:
    """A whole number (bools and 2.5 refused; 3.0 accepted as 3)."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, numbers.Real)):
        raise InputError(f"{name} must be a whole number, got {value!r}")
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        if not float(value).is_integer():
            raise InputError(f"{name} must be a whole number, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_precision(precision: object, device: torch.device | str | None = None, name: str = "precision") -> str:
    """One of PRECISIONS; with `device` given (the CLI), fp16 also needs CUDA."""
    if precision not in PRECISIONS:
        raise InputError(f"{name} must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "fp16" and device is not None and torch.device(device).type == "cpu":
        raise InputError(f"{name} fp16 needs a CUDA GPU; on CPU use bf16 or fp32")
    return str(precision)


def check_working_size(size: object, frame_hw: tuple[int, int] | None = None, name: str = "--size") -> int | None:
    """-1/None (the input's own size) or a short side in [MIN_WORKING_SIZE, ...] whose working frame
    stays within MAX_WORKING_PIXELS. Returns None for 'own size'."""
    value = -1 if size is None else check_int(name, size)
    short = None if value == -1 else value  # the one place -1 becomes None ("own size")
    if short is not None and short < MIN_WORKING_SIZE:
        raise InputError(
            f"{name} {value}: the short side must be at least {MIN_WORKING_SIZE} pixels, or -1 for the input's own size"
        )
    if frame_hw is not None:
        h, w = working_shape(frame_hw[0], frame_hw[1], short)
        if h * w > MAX_WORKING_PIXELS:
            raise InputError(f"{name} {value}: " + working_pixels_message(h, w, name))
    elif short is not None:
        # Without the frame size: refuse what is too large for any aspect ratio.
        if value * value > MAX_WORKING_PIXELS:
            raise InputError(
                f"{name} {value}: a short side of {value} pixels exceeds the limit of {MAX_WORKING_PIXELS / 1e6:.1f} MP "
                f"per frame at working size (that is --size 1080 for a 16:9 clip); 480 is the official default"
            )
    return short


def check_frame_size(height: int, width: int, what: str = "the video") -> None:
    if height < MIN_SIDE or width < MIN_SIDE:
        raise InputError(
            f"{what} is {width}x{height} pixels; at least {MIN_SIDE}x{MIN_SIDE} is needed (the network works on "
            "a 16-pixel grid)"
        )


def check_memory_config(config: object, name: str = "config") -> MemoryConfig:
    """A MemoryConfig, or a plain dict of its fields (unknown names refused, naming them)."""
    if isinstance(config, MemoryConfig):
        return config
    if isinstance(config, dict):
        known = {f for f in MemoryConfig.__dataclass_fields__}
        unknown = sorted(str(k) for k in config if k not in known)
        if unknown:
            raise InputError(f"{name}: unknown memory setting(s) {unknown}; the fields of MemoryConfig are {sorted(known)}")
        try:
            return MemoryConfig(**config)
        except ValueError as err:
            raise InputError(f"{name}: {err}") from None
    raise InputError(f"{name} must be a MemoryConfig (or a dict of its fields), got {type(config).__name__}")


def check_optional_count(name: str, value: object) -> int | None:
    """None, or a whole number >= 1 (a number of frames)."""
    return None if value is None else check_int(name, value, minimum=1)


# ---- devices --------------------------------------------------------------------------------
def resolve_device(name: object) -> torch.device:
    """'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', checked against what this machine has."""
    if name in (None, "auto"):
        return pick_device("auto")
    text = str(name).strip().lower()
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise InputError(f"--device '{name}' is not a device name; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(
                f"--device {name}: no CUDA GPU is visible to PyTorch {torch.__version__}; use --device cpu (or auto)"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise InputError(f"--device {name}: this machine has {count} CUDA device(s) (cuda:0..cuda:{count - 1})")
        return device
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise InputError(f"--device {name}: Apple MPS is not available here; use --device cpu (or auto)")
        return device
    raise InputError(f"--device '{name}': unsupported device type '{device.type}'; use auto, cpu, cuda or mps")


# ---- frames (Python API) --------------------------------------------------------------------
def check_frame(frame: object, index: int | None = None) -> None:
    """An H x W x 3 RGB frame: uint8 0..255, or floating point 0..1 (checked, never guessed)."""
    where = "frame" if index is None else f"frame {index}"
    if isinstance(frame, torch.Tensor):
        shape, dtype = tuple(frame.shape), frame.dtype
        is_float, is_uint8 = frame.is_floating_point(), dtype == torch.uint8
    else:
        arr = np.asarray(frame)
        shape, dtype = arr.shape, arr.dtype
        is_float, is_uint8 = np.issubdtype(dtype, np.floating), dtype == np.uint8
        frame = arr
    if len(shape) != 3 or shape[-1] != 3:
        raise InputError(f"{where} must be an H x W x 3 RGB array, got shape {shape}")
    if not (is_uint8 or is_float):
        raise InputError(f"{where} has dtype {dtype}; pass uint8 (0..255) or float (0..1) RGB")
    check_frame_size(shape[0], shape[1], where)
    if is_float:
        t = frame if isinstance(frame, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(frame))
        if not bool(torch.isfinite(t).all()):
            raise InputError(f"{where} holds NaN or infinite values")
        lo, hi = float(t.min()), float(t.max())
        if lo < 0 or hi > 1:
            hint = " (it looks like 0..255: pass uint8, or divide by 255)" if hi > 1.5 else ""
            raise InputError(f"float {where} must lie in 0..1, found {lo:g}..{hi:g}{hint}")


# ---- output places --------------------------------------------------------------------------
def _existing_ancestor(path: Path) -> Path:
    p = path
    while not p.exists():
        if p.parent == p:
            break
        p = p.parent
    return p


def _probe_write(folder: Path, what: str) -> None:
    probe = folder / f".xmem-demo-probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.write_bytes(b"")
    except OSError as err:
        raise InputError(f"{what}: cannot write into '{folder}' ({err.strerror or err})") from None
    finally:
        try:
            probe.unlink()
        except FileNotFoundError:
            pass


def check_output_dir(path: str | Path, what: str = "--out") -> Path:
    """A folder results can be written to: existing or creatable, not a file, writable (probed)."""
    if not str(path).strip():
        raise InputError(f"{what} '{path}': give a folder name (an empty name would mean the current folder)")
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{what} '{path}' is an existing file; give a folder (it is created if missing)")
    base = _existing_ancestor(path)
    if not base.is_dir():
        raise InputError(f"{what} '{path}' lies under '{base}', which is a file, not a folder")
    if path.exists():
        _probe_write(path, f"{what} '{path}'")
    else:
        _probe_write(base, f"{what} '{path}'")
    return path


def check_output_file(path: str | Path, suffix: str, what: str) -> Path:
    """A file about to be written: its folder must exist and be writable; not an existing folder."""
    if not str(path).strip():
        raise InputError(f"{what} '{path}': give a file name ending in {suffix}")
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{what} '{path}' is a folder; give a file name ending in {suffix}")
    if path.suffix.lower() != suffix:
        raise InputError(f"{what} '{path}' must end in {suffix}")
    if not path.parent.is_dir():
        raise InputError(f"{what} '{path}': the folder '{path.parent}' does not exist; create it first")
    _probe_write(path.parent, f"{what} '{path}'")
    return path


def check_free_space(folder: str | Path, needed: int, what: str) -> None:
    folder = _existing_ancestor(Path(folder))
    free = shutil.disk_usage(folder).free
    if needed + DISK_MARGIN_BYTES > free:
        raise InputError(
            f"{what} needs about {needed / 2**30:.2f} GiB but '{folder}' has {free / 2**30:.2f} GiB free "
            f"(keeping {DISK_MARGIN_BYTES / 2**20:.0f} MiB spare); free space or write elsewhere"
        )


def check_apart_from_inputs(output: str | Path, inputs: dict[str, str | Path], what: str = "--out") -> None:
    """Inputs are never written over: refuse an output (folder or file) that is an input, holds
    one (an earlier run's results there would be replaced), or lies inside an input folder.

    Paths are compared after resolving symbolic links and `..`, so another spelling of the
    same place is caught too. `inputs` maps how the user named each input to its path."""
    out = Path(os.path.realpath(output))
    for label, given in inputs.items():
        if given is None or not str(given).strip():
            continue
        inp = Path(os.path.realpath(given))
        if out == inp:
            problem = "is the input"
        elif inp.is_relative_to(out):
            problem = "contains the input"
        elif out.is_relative_to(inp):
            problem = "lies inside the input"
        else:
            continue
        raise InputError(
            f"{what} '{output}' {problem} {label} '{given}'; inputs are never written over: "
            f"choose a {what} outside the inputs"
        )
