"""The memory manager: orchestrates the three tiers, and nothing else.

read:  query key/selection -> per-object readout from [long-term, working] memory.
write: a new memory frame -> working memory; when working memory holds T_max frames,
       forget from long-term memory if it is full, then consolidate (Sec. 3.4).
The sensory memory is owned here too but is read/written by the session directly.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from ..config import MemoryConfig
from ..records import AffinityProbe, ConsolidationEvent, ForgettingEvent
from .groups import ObjectGroups
from .long_term import LongTermMemory
from .sensory import SensoryMemory
from .fast_read import read_groups
from .similarity import read_memory
from .working import WorkingMemory


def _float32_arithmetic(method):
    """Run a memory operation with autocast off; it casts keys to float32 itself.

    Under bf16/fp16 autocast the network runs in reduced precision, but the anisotropic L2
    similarity (Eq. 3) subtracts squared key norms of order 10^4 to resolve differences of
    order 1: beyond bfloat16's 8-bit mantissa, so the top-k choice would become noise.
    Keys, shrinkage and selection are therefore stored and compared in float32; values keep
    the network's dtype (they are only averaged).
    """

    @functools.wraps(method)
    def run(self, key: torch.Tensor, *args, **kwargs):
        with torch.autocast(key.device.type, enabled=False):
            return method(self, key, *args, **kwargs)

    return run


@dataclass
class WriteEvents:
    """What a memory write triggered (the events' arrays are still tensors, see records.py)."""

    consolidation: ConsolidationEvent | None = None
    forgetting: ForgettingEvent | None = None


class MemoryManager:
    def __init__(self, config: MemoryConfig, hidden_dim: int, count_long_term_usage: bool) -> None:
        self.config = config
        self.sensory = SensoryMemory(hidden_dim)
        self.working = WorkingMemory(count_usage=config.enable_long_term)
        self.long_term = LongTermMemory(count_usage=count_long_term_usage) if config.enable_long_term else None
        if self.long_term is not None:
            # Capacity hints: the tiers' bounds (working memory's is known after its first frame).
            self.long_term.max_elements = config.max_long_term_elements
        self.groups = ObjectGroups()

    # ---- objects ------------------------------------------------------------------------
    @property
    def num_objects(self) -> int:
        return self.groups.num_objects

    @property
    def is_empty(self) -> bool:
        return self.working.size == 0

    def add_objects(self, total: int, like: torch.Tensor) -> None:
        self.groups.add_objects(total)
        self.sensory.add_objects(total, like)

    # ---- reading ------------------------------------------------------------------------
    def _long_term_in_use(self) -> bool:
        return self.long_term is not None and self.long_term.size > 0

    def _tiers_to_read(self) -> list:
        """The stores a read looks at, in the order [long-term, working]."""
        return [self.long_term, self.working] if self._long_term_in_use() else [self.working]

    @_float32_arithmetic
    def read(
        self,
        query_key: torch.Tensor,
        query_selection: torch.Tensor | None,
        probe_pixels: list[tuple[int, int]] | None = None,
    ) -> tuple[torch.Tensor, AffinityProbe | None]:
        """query_key 1 x CK x h x w -> readout 1 x K x CV x h x w (objects in group order).

        Every object group reads [long-term, working] memory: a group that joined later only
        the elements it has values for. Each query keeps its top-k elements (softmax over
        them). Object group 0 (annotated first) has values for every element, so its
        attention is the usage signal of both tiers (Sec. 3.4). This is `read_reference`
        computed the fast way (`fast_read.py`).
        """
        h, w = query_key.shape[-2:]
        qk = query_key[0].flatten(1).float()
        qe = query_selection[0].flatten(1).float() if query_selection is not None else None
        result = read_groups(qk, qe, self._tiers_to_read(), len(self.groups), self.config.top_k)
        self._record_usage(result.weights, result.indices, result.long_term_size, result.size)
        probe = None
        if probe_pixels:
            probe = self._probe(result.weights, result.indices, result.size, result.long_term_size, probe_pixels, (h, w))
        readouts = [r.T.reshape(len(objects), -1, h * w) for r, objects in zip(result.readouts, self.groups.groups)]
        out = torch.cat(readouts, 0)
        return out.view(1, out.shape[0], out.shape[1], h, w), probe

    @_float32_arithmetic
    def read_reference(
        self, query_key: torch.Tensor, query_selection: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The same read as `read`, written as the paper's definition (for teaching and tests).

        Returns (readout 1 x K x CV x h x w, usage per element of [long-term, working]);
        changes nothing (`read` also adds the usage to the tiers' counts).
        """
        h, w = query_key.shape[-2:]
        qk = query_key[0].flatten(1).float()
        qe = query_selection[0].flatten(1).float() if query_selection is not None else None
        tiers = self._tiers_to_read()
        readouts, usage = [], None
        for g in range(len(self.groups)):
            # Group g's memory: the elements of each tier that it has values for.
            key, shrinkage, values = [], [], []
            for tier in tiers:
                start, end = tier.group_key_range(g)
                key.append(tier.key[:, start:end])
                shrinkage.append(tier.shrinkage[:, start:end])
                values.append(tier.values[g] if end > start else None)
            values = torch.cat([v for v in values if v is not None], -1)
            out, affinity = read_memory(torch.cat(key, 1), torch.cat(shrinkage, 1), values, qk, qe, self.config.top_k)
            readouts.append(out)
            if g == 0:
                usage = affinity.sum(1)
        out = torch.cat(readouts, 0)
        return out.view(1, out.shape[0], out.shape[1], h, w), usage

    def _record_usage(self, weights: torch.Tensor, indices: torch.Tensor, n_lt: int, n: int) -> None:
        if not self.config.enable_long_term:
            return
        usage = weights.new_zeros(n, dtype=torch.float32).index_add_(0, indices.reshape(-1), weights.reshape(-1).float())
        self.working.record_usage(usage[n_lt:])
        if n_lt:
            self.long_term.record_usage(usage[:n_lt])

    def _probe(self, weights, indices, n, n_lt, pixels, shape) -> AffinityProbe:
        h, w = shape
        cols = [min(max(r, 0), h - 1) * w + min(max(c, 0), w - 1) for r, c in pixels]
        rows = torch.tensor(cols, device=indices.device)
        affinity = weights.new_zeros((len(cols), n), dtype=torch.float32)
        affinity.scatter_(1, indices[rows], weights[rows].float())
        origins = [self.working.origin]
        if n_lt:
            origins.insert(0, self.long_term.origin[self.long_term.size - n_lt :])
        origin = torch.cat(origins).cpu().numpy()
        hw = self.working.frame_size
        tier = np.concatenate([np.zeros(n_lt, np.int8), np.ones(self.working.size, np.int8)])
        return AffinityProbe(
            query_pixels=[tuple(p) for p in pixels],
            feature_shape=(h, w),
            affinity=affinity.cpu().numpy(),
            tier=tier,
            origin_frame=origin // hw,
            origin_pixel=origin % hw,
        )

    # ---- writing ------------------------------------------------------------------------
    @_float32_arithmetic
    def write(
        self,
        key: torch.Tensor,
        shrinkage: torch.Tensor,
        selection: torch.Tensor | None,
        values: torch.Tensor,
        frame_index: int,
    ) -> WriteEvents:
        """key 1 x CK x h x w, values 1 x K x CV x h x w: add one memory frame."""
        cfg = self.config
        per_group = self.groups.split(values[0].flatten(2))
        if self.long_term is not None:
            self.working.max_elements = cfg.max_mid_term_frames * key.shape[-2] * key.shape[-1]
        self.working.add_frame(
            key[0].flatten(1).float(),
            shrinkage[0].flatten(1).float(),
            selection[0].flatten(1).float() if (selection is not None and cfg.enable_long_term) else None,
            per_group,
            frame_index,
        )
        events = WriteEvents()
        if self.long_term is None or not self.working.is_full(cfg.max_mid_term_frames):
            return events

        lt = self.long_term
        capacity = cfg.max_long_term_elements - cfg.num_prototypes
        if lt.size >= capacity:
            # Without usage counts, this kit drops the oldest (FIFO, its fallback); the official code raises.
            events.forgetting = lt.forget(capacity) if lt.count_usage else lt.forget_oldest(capacity)
        candidates = self.working.take_candidates(cfg.min_mid_term_frames)
        events.consolidation = lt.consolidate(candidates, cfg.num_prototypes)
        return events

    # ---- sizes --------------------------------------------------------------------------
    def memory_bytes(self) -> dict[str, int]:
        return {
            "sensory": self.sensory.nbytes(),
            "working": self.working.nbytes(),
            "long_term": self.long_term.nbytes() if self.long_term is not None else 0,
        }
