"""The memory manager: orchestrates the three tiers, and nothing else.

read:  query key/selection -> per-object readout from [long-term, working] memory.
write: a new memory frame -> working memory; when working memory holds T_max frames,
       forget from long-term memory if it is full, then consolidate (Sec. 3.4).
The sensory memory is owned here too but is read/written by the session directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..config import MemoryConfig
from ..records import AffinityProbe, ConsolidationEvent, ForgettingEvent
from .groups import ObjectGroups
from .long_term import LongTermMemory
from .sensory import SensoryMemory
from .similarity import anisotropic_l2, readout, topk_softmax
from .working import WorkingMemory


@dataclass
class WriteEvents:
    consolidation: ConsolidationEvent | None = None
    forgetting: ForgettingEvent | None = None


class MemoryManager:
    def __init__(self, config: MemoryConfig, hidden_dim: int, count_long_term_usage: bool) -> None:
        self.config = config
        self.sensory = SensoryMemory(hidden_dim)
        self.working = WorkingMemory(count_usage=config.enable_long_term)
        self.long_term = LongTermMemory(count_usage=count_long_term_usage) if config.enable_long_term else None
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

    def read(
        self,
        query_key: torch.Tensor,
        query_selection: torch.Tensor | None,
        probe_pixels: list[tuple[int, int]] | None = None,
    ) -> tuple[torch.Tensor, AffinityProbe | None]:
        """query_key 1 x CK x h x w -> readout 1 x K x CV x h x w (objects in group order)."""
        h, w = query_key.shape[-2:]
        qk = query_key[0].flatten(1)
        qe = query_selection[0].flatten(1) if query_selection is not None else None
        wm, lt = self.working, self.long_term
        n_lt = lt.size if self._long_term_in_use() else 0
        if n_lt:
            similarity = anisotropic_l2(
                torch.cat([lt.key, wm.key], -1), torch.cat([lt.shrinkage, wm.shrinkage], -1), qk, qe
            )
        else:
            similarity = anisotropic_l2(wm.key, wm.shrinkage, qk, qe)
        lt_sim, wm_sim = similarity[:n_lt], similarity[n_lt:]

        readouts, probe = [], None
        for g in range(len(self.groups)):
            sims, values = [], []
            n_lt_g = lt.group_size(g) if n_lt else 0
            if n_lt_g:
                sims.append(lt_sim[n_lt - n_lt_g :])
                values.append(lt.values[g])
            sims.append(wm_sim[wm.size - wm.group_size(g) :])
            values.append(wm.values[g])
            affinity = topk_softmax(torch.cat(sims, 0) if len(sims) > 1 else sims[0], self.config.top_k)
            if g == 0:
                # Group 0 (annotated first) has values for every element: its attention
                # is the usage signal for both tiers.
                self._record_usage(affinity, n_lt_g)
                if probe_pixels:
                    probe = self._probe(affinity, n_lt_g, probe_pixels, (h, w))
            readouts.append(readout(affinity, torch.cat(values, -1) if len(values) > 1 else values[0]))
        out = torch.cat(readouts, 0)
        return out.view(1, out.shape[0], out.shape[1], h, w), probe

    def _record_usage(self, affinity: torch.Tensor, n_lt: int) -> None:
        if not self.config.enable_long_term:
            return
        usage = affinity.sum(1)
        self.working.record_usage(usage[n_lt:])
        if n_lt:
            self.long_term.record_usage(usage[:n_lt])

    def _probe(self, affinity, n_lt, pixels, shape) -> AffinityProbe:
        h, w = shape
        cols = [min(max(r, 0), h - 1) * w + min(max(c, 0), w - 1) for r, c in pixels]
        origins = [self.working.origin]
        if n_lt:
            origins.insert(0, self.long_term.origin[self.long_term.size - n_lt :])
        origin = torch.cat(origins).cpu().numpy()
        hw = self.working.frame_size
        tier = np.concatenate([np.zeros(n_lt, np.int8), np.ones(self.working.size, np.int8)])
        return AffinityProbe(
            query_pixels=[tuple(p) for p in pixels],
            feature_shape=(h, w),
            affinity=affinity[:, cols].T.float().cpu().numpy(),
            tier=tier,
            origin_frame=origin // hw,
            origin_pixel=origin % hw,
        )

    # ---- writing ------------------------------------------------------------------------
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
        self.working.add_frame(
            key[0].flatten(1),
            shrinkage[0].flatten(1),
            selection[0].flatten(1) if (selection is not None and cfg.enable_long_term) else None,
            per_group,
            frame_index,
        )
        events = WriteEvents()
        if self.long_term is None or not self.working.is_full(cfg.max_mid_term_frames):
            return events

        lt = self.long_term
        capacity = cfg.max_long_term_elements - cfg.num_prototypes
        if lt.size >= capacity:
            size_before = lt.size
            if lt.count_usage:
                forgot = lt.forget(capacity)
            else:  # usage not counted: fall back to dropping the oldest elements
                forgot = lt.forget_oldest(capacity)
            if forgot is not None:
                events.forgetting = ForgettingEvent(
                    size_before, capacity, forgot.requested, forgot.removed, forgot.usage_margin,
                    forgot.usage_before.cpu().numpy(), forgot.kept.cpu().numpy(),
                )

        wm_before, lt_before = self.working.size, lt.size
        candidates = self.working.take_candidates(cfg.min_mid_term_frames)
        result = lt.consolidate(candidates, cfg.num_prototypes)
        hw = self.working.frame_size
        proto_origin = candidates.elements.origin[result.prototype_indices].cpu().numpy()
        events.consolidation = ConsolidationEvent(
            working_size_before=wm_before,
            working_size_after=self.working.size,
            long_term_size_before=lt_before,
            long_term_size_after=lt.size,
            num_candidates=candidates.elements.key.shape[-1],
            group_kinds=candidates.group_kinds,
            valid_prototypes=result.valid_prototypes,
            prototype_indices=result.prototype_indices.cpu().tolist(),
            prototype_origins=[(int(o // hw), int(o % hw)) for o in proto_origin],
            candidate_usage=result.candidate_usage.float().cpu().numpy(),
            usage_margin=result.usage_margin,
        )
        return events

    # ---- sizes --------------------------------------------------------------------------
    def memory_bytes(self) -> dict[str, int]:
        return {
            "sensory": self.sensory.nbytes(),
            "working": self.working.nbytes(),
            "long_term": self.long_term.nbytes() if self.long_term is not None else 0,
        }
