"""XMem's three memory tiers (Atkinson-Shiffrin model, Sec. 3 of the paper).

* `SensoryMemory`  - per-object hidden state, updated every frame.
* `WorkingMemory`  - high-resolution key/value memory frames, one every r frames.
* `LongTermMemory` - compact prototypes consolidated from working memory, bounded by L_max.

`MemoryManager` orchestrates them; `ObjectGroups` keeps object bookkeeping out of the tiers.

Reading memory (Sec. 3.3): `similarity.py` is the reference definition to read
(`read_memory`: Eq. 3 similarity, top-k softmax, readout); `fast_read.py` is the same
mathematics arranged for speed, which inference runs, tested equal to the reference.
`store.py` is the key-value store both tiers share; `_rows.py` its private buffers.
"""

from .groups import ObjectGroups
from .long_term import LongTermMemory
from .manager import MemoryManager, WriteEvents
from .sensory import SensoryMemory
from .similarity import anisotropic_l2, read_memory, readout, softmax, topk_softmax
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
    "read_memory",
]
