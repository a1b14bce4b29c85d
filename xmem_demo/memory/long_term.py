"""Long-term memory: compact prototypes of old working memory (Sec. 3.4).

When working memory reaches T_max frames, the P candidates with the highest usage become
*prototypes*. Each prototype's key queries all candidates, and its value and shrinkage are
read out from them ("memory potentiation"), so a prototype summarises its neighbourhood.
When long-term memory would exceed L_max elements, the least-used elements are
forgotten. Its size is therefore bounded by L_max, whatever the video length.

What each step decided is returned as an event (records.py): the prototypes and the
usage they were chosen by, how many candidates tied at the threshold usage (`topk`'s
order, not usage, picks among them, as in the official code), and the potentiation
weights (each prototype's top contributing candidates), so that notebooks can show it.
"""

from __future__ import annotations

import torch

from ..records import ConsolidationEvent, ForgettingEvent

from .similarity import anisotropic_l2, readout, softmax
from .store import KeyValueStore
from .working import Candidates

# How many of each prototype's potentiation weights a ConsolidationEvent keeps (the largest).
# The softmax gives every candidate a weight; with a sharp key space a few carry nearly all of it.
POTENTIATION_TOP = 8


class LongTermMemory(KeyValueStore):
    def __init__(self, count_usage: bool) -> None:
        super().__init__(count_usage)
        self.frame_size = 0  # HW of the memory frames the prototypes came from (known at the first consolidation)

    def consolidate(self, candidates: Candidates, num_prototypes: int) -> ConsolidationEvent:
        """Turn candidates into P prototypes and append them (prototype selection + potentiation)."""
        size_before = self.size
        c = candidates.elements
        n = c.key.shape[-1]
        p = min(num_prototypes, n)
        usage_sorted, indices = torch.topk(c.usage, k=min(p + 1, n), sorted=True)
        margin = float(usage_sorted[p - 1] - usage_sorted[p]) if n > p else float("inf")
        indices = indices[:p]

        proto_key = c.key[:, indices]
        proto_selection = c.selection[:, indices] if c.selection is not None else None
        # Prototypes query the candidates: N x P similarities.
        similarity = anisotropic_l2(c.key, c.shrinkage, proto_key, proto_selection)

        group_values: list[torch.Tensor | None] = []
        valid_counts: list[int | None] = []
        affinity0 = None  # the first group's N_g x P_valid weights: shrinkage's, and the ones recorded
        first0 = valid0 = None
        for g, values in enumerate(candidates.group_values):
            if values is None:
                group_values.append(None)
                valid_counts.append(None)
                continue
            # A group reads out only the candidates it has values for, with the prototypes among them.
            first = candidates.first_with_values(g)
            valid = indices >= first
            affinity = softmax(similarity[first:, valid])
            if affinity0 is None:
                affinity0, first0, valid0 = affinity, first, valid
            count = int(valid.sum())
            valid_counts.append(count)
            group_values.append(readout(affinity, values) if count > 0 else None)

        proto_shrinkage = readout(affinity0, c.shrinkage)
        origin = c.origin[indices]
        self.append(proto_key, proto_shrinkage, None, group_values, origin)
        hw = self.frame_size = candidates.frame_size
        mix_index, mix_weight, mix_effective = self._potentiation_record(affinity0, first0, valid0, p)
        mix_origin = c.origin[mix_index.clamp(min=0)]  # (where the index is -1: not meaningful)
        return ConsolidationEvent(
            working_size_before=candidates.working_size_before,
            working_size_after=candidates.working_size_after,
            long_term_size_before=size_before,
            long_term_size_after=self.size,
            num_candidates=n,
            group_kinds=candidates.group_kinds,
            valid_prototypes=valid_counts,
            prototype_indices=indices,
            prototype_origins=torch.stack([origin // hw, origin % hw], 1),
            candidate_usage=c.usage,
            usage_margin=margin,
            potentiation_indices=mix_index,
            potentiation_weights=mix_weight,
            potentiation_origins=torch.stack([mix_origin // hw, mix_origin % hw], -1),
            potentiation_effective=mix_effective,
        )

    @staticmethod
    def _potentiation_record(
        affinity: torch.Tensor, first: int, valid: torch.Tensor, p: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """What potentiation mixed, for the record only (nothing here changes the prototypes).

        affinity: the first object group's softmax weights, candidates [first, N) x the valid
        prototypes: column j is prototype j's mix. Returns, per prototype (P rows), the
        candidate indices of its POTENTIATION_TOP largest weights (descending; -1 where the
        group has no weights for that prototype), those weights, and the effective number of
        candidates mixed, 1 / sum_i w_i^2 over all of them (1 = one candidate, N = uniform).
        Stays on the device: `ConsolidationEvent.to_host()` copies it when a hook listens.
        """
        top = min(POTENTIATION_TOP, affinity.shape[0])
        weight, index = torch.topk(affinity, k=top, dim=0)  # top x P_valid
        effective = 1 / affinity.pow(2).sum(0)
        if bool(valid.all()):  # the usual case: the first group has values for every candidate
            return index.T + first, weight.T, effective
        mix_index = torch.full((p, top), -1, dtype=index.dtype, device=index.device)
        mix_weight = affinity.new_zeros((p, top))
        mix_effective = affinity.new_full((p,), float("nan"))
        mix_index[valid], mix_weight[valid], mix_effective[valid] = index.T + first, weight.T, effective
        return mix_index, mix_weight, mix_effective

    def forget(self, target_size: int) -> ForgettingEvent | None:
        """Drop the least-used elements so that at most `target_size` remain.

        As in the official code, every element whose usage ties the k-th smallest is
        dropped too, so more than asked may go (`ForgettingEvent.removed_beyond_request`:
        all of them tie at the threshold usage).
        """
        requested = self.size - target_size
        if requested <= 0:
            return None
        usage = self.usage()
        smallest, _ = torch.topk(usage, k=min(requested + 1, self.size), largest=False, sorted=True)
        threshold = smallest[requested - 1]
        survived = usage > threshold
        margin = float(smallest[requested] - threshold) if self.size > requested else float("inf")
        size_before = self.size
        origins = self._origins()
        self.keep_mask(survived)
        return ForgettingEvent(size_before, target_size, requested, int((~survived).sum()), margin, usage, survived,
                               origins)

    def forget_oldest(self, target_size: int) -> ForgettingEvent | None:
        """Without usage counts, drop the oldest elements (first in, first out).

        This kit's fallback for `count_long_term_usage=False` (or the official eval.py rule
        deciding not to count, on a video that turns out longer): the official code raises
        `RuntimeError('I did not count usage!')` here instead (docs/departures.md). XMem
        itself forgets only by usage (Sec. 3.4); FIFO is not part of the paper.
        """
        requested = self.size - target_size
        if requested <= 0:
            return None
        size_before = self.size
        survived = torch.arange(self.size, device=self.key.device) >= requested
        origins = self._origins()
        self.keep_mask(survived)
        return ForgettingEvent(size_before, target_size, requested, requested, float("nan"), torch.zeros(0), survived,
                               origins)

    def _origins(self) -> torch.Tensor | None:
        """(frame, pixel) of every element, N x 2: a copy (removing elements compacts the buffers in place);
        None before the first consolidation (the frame size is unknown)."""
        hw = self.frame_size
        return torch.stack([self.origin // hw, self.origin % hw], 1) if hw else None
