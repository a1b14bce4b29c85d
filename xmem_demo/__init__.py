"""xmem-demo: a readable, faithful reimplementation of XMem (Cheng & Schwing, ECCV 2022).

    from xmem_demo import load_model, InferenceSession, MemoryConfig
    model = load_model("XMem.pth")
    session = InferenceSession(model, MemoryConfig())
    prob = session.step(frame, mask=first_mask)   # then session.step(frame) for the rest

The names below are imported on first use (PEP 562), not when the package is imported: the
command line can then catch Ctrl-C while torch loads (seconds) and end with one line instead
of a traceback (cli.py). `from xmem_demo import InferenceSession` works as before.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# OpenMP reads its waiting policy once, when torch loads it: set PASSIVE now, unless the user
# chose one or torch is already loaded (xmem_demo/threads.py says why; stdlib only).
from .threads import prepare_openmp as _prepare_openmp  # noqa: E402

_prepare_openmp()

# public name -> the module that defines it
_EXPORTS = {
    "XMem": ".model",
    "ModelConfig": ".config",
    "MemoryConfig": ".config",
    "InferenceSession": ".session",
    "FrameRecord": ".records",
    "RecordCollector": ".records",
    "load_model": ".checkpoint",
    "load_model_with_info": ".checkpoint",
    "WeightsInfo": ".checkpoint",
    "save_checkpoint": ".checkpoint",
    "CheckpointError": ".checkpoint",
    "MaskError": ".errors",
    "VideoError": ".errors",
    "pick_device": ".hardware",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    try:
        return importlib.import_module(f".{name}", __name__)  # xmem_demo.session etc. as attributes
    except ModuleNotFoundError as err:
        if err.name != f"{__name__}.{name}":
            raise  # a dependency missing inside a real submodule: say that, not "no attribute"
        raise AttributeError(f"module 'xmem_demo' has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:  # for type checkers and IDEs: the eager imports
    from .checkpoint import CheckpointError, WeightsInfo, load_model, load_model_with_info, save_checkpoint
    from .config import MemoryConfig, ModelConfig
    from .errors import MaskError, VideoError
    from .hardware import pick_device
    from .model import XMem
    from .records import FrameRecord, RecordCollector
    from .session import InferenceSession
