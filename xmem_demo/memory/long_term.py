"""Long-term memory: compact prototypes of old working memory (Sec. 3.4).

When working memory reaches T_max frames, the P candidates with the highest usage become
*prototypes*. Each prototype's key queries all candidates, and its value and shrinkage are
read out from them ("memory potentiation"), so a prototype summarises its neighbourhood.
When long-term memory would exceed L_max elements, the least-used elements are
forgotten. Its size is therefore bounded by L_max, whatever the video length.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .similarity import anisotropic_l2, readout, softmax
from .store import KeyValueStore
from .working import Candidates


@dataclass
class Consolidation:
    prototype_indices: torch.Tensor  # candidate indices, in descending usage order
    candidate_usage: torch.Tensor  # usage of every candidate at selection time
    valid_prototypes: list[int | None]  # per group: prototypes it got values for (None: none)
    usage_margin: float  # usage gap between the last chosen and the first unchosen candidate


@dataclass
class Forgetting:
    removed: int
    requested: int
    usage_margin: float  # usage gap between the last removed and the first kept element
    usage_before: torch.Tensor  # usage of every element before forgetting
    kept: torch.Tensor  # bool mask over elements before forgetting


class LongTermMemory(KeyValueStore):
    def __init__(self, count_usage: bool) -> None:
        super().__init__(count_usage)

    def consolidate(self, candidates: Candidates, num_prototypes: int) -> Consolidation:
        """Turn candidates into P prototypes and append them (prototype selection + potentiation)."""
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
        affinity0 = None
        for values in candidates.group_values:
            if values is None:
                group_values.append(None)
                valid_counts.append(None)
                continue
            n_g = values.shape[-1]
            # A prototype serves a later-joined group only if it lies within that group's
            # (right-aligned) candidates.
            valid = indices >= n - n_g
            affinity = softmax(similarity[n - n_g :, valid])
            if affinity0 is None:
                affinity0 = affinity
            count = int(valid.sum())
            valid_counts.append(count)
            group_values.append(readout(affinity, values) if count > 0 else None)

        proto_shrinkage = readout(affinity0, c.shrinkage)
        self.append(proto_key, proto_shrinkage, None, group_values, c.origin[indices])
        return Consolidation(indices, c.usage, valid_counts, margin)

    def forget(self, target_size: int) -> Forgetting | None:
        """Drop the least-used elements so that at most `target_size` remain.

        As in the official code, every element whose usage ties the k-th smallest is
        dropped too, so slightly more than asked may go.
        """
        requested = self.size - target_size
        if requested <= 0:
            return None
        usage = self.usage()
        smallest, _ = torch.topk(usage, k=min(requested + 1, self.size), largest=False, sorted=True)
        threshold = smallest[requested - 1]
        survived = usage > threshold
        margin = float(smallest[requested] - threshold) if self.size > requested else float("inf")
        self.keep_mask(survived)
        return Forgetting(int((~survived).sum()), requested, margin, usage, survived)

    def forget_oldest(self, target_size: int) -> Forgetting | None:
        """Without usage counts, drop the oldest elements (first in, first out)."""
        requested = self.size - target_size
        if requested <= 0:
            return None
        survived = torch.arange(self.size, device=self.key.device) >= requested
        self.keep_mask(survived)
        return Forgetting(requested, requested, float("nan"), torch.zeros(0), survived)
