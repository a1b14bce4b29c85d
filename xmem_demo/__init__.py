"""xmem-demo: a readable, faithful reimplementation of XMem (Cheng & Schwing, ECCV 2022).

    from xmem_demo import load_model, InferenceSession, MemoryConfig
    model = load_model("XMem.pth")
    session = InferenceSession(model, MemoryConfig())
    prob = session.step(frame, mask=first_mask)   # then session.step(frame) for the rest
"""

from .checkpoint import CheckpointError, WeightsInfo, load_model, load_model_with_info, save_checkpoint
from .config import MemoryConfig, ModelConfig
from .errors import MaskError, VideoError
from .model import XMem
from .records import FrameRecord, RecordCollector
from .hardware import pick_device
from .session import InferenceSession

__version__ = "0.1.0"

__all__ = [
    "XMem",
    "ModelConfig",
    "MemoryConfig",
    "InferenceSession",
    "FrameRecord",
    "RecordCollector",
    "load_model",
    "load_model_with_info",
    "WeightsInfo",
    "save_checkpoint",
    "CheckpointError",
    "MaskError",
    "VideoError",
    "pick_device",
]
