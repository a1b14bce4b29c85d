"""XMem's three memory tiers (Atkinson-Shiffrin model, Sec. 3 of the paper).

* `SensoryMemory`  - per-object hidden state, updated every frame.
* `WorkingMemory`  - high-resolution key/value memory frames, one every r frames.
* `LongTermMemory` - compact prototypes consolidated from working memory, bounded by L_max.

`MemoryManager` orchestrates them; `ObjectGroups` keeps object bookkeeping out of the tiers.
"""

from .groups import ObjectGroups
from .long_term import LongTermMemory
from .manager import MemoryManager, WriteEvents
from .sensory import SensoryMemory
from .similarity import anisotropic_l2, readout, softmax, topk_softmax
from .working import WorkingMemory

__all__ = [
    "SensoryMemory",
    "WorkingMemory",
    "LongTermMemory",
    "MemoryManager",
    "ObjectGroups",
    "WriteEvents",
    "anisotropic_l2",
    "topk_softmax",
    "softmax",
    "readout",
]
