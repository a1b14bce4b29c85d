"""Working memory: recent high-resolution memory frames (Sec. 3.2).

Every r-th frame (and every annotated frame) adds one *memory frame*: H/16 x W/16 keys
with their shrinkage s and selection e, and a value per object. Reading uses the
anisotropic L2 similarity and a top-k softmax. Each read also records the *usage* of each
element (how much attention it received), which decides what long-term memory keeps.
When working memory holds T_max frames, all but its first frame and newest T_min - 1
frames are handed to long-term memory as consolidation candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .store import KeyValueStore, Slice


@dataclass
class Candidates:
    """Working-memory elements leaving for long-term memory (Sec. 3.4)."""

    elements: Slice  # keys, shrinkage, selection, usage of the N candidates
    group_values: list[torch.Tensor | None]  # per group: values of the LAST n_g candidates, or None
    group_kinds: list[str]  # per group: "full", "partial", "none" or "none_but_sieved"
    frame_size: int  # HW: elements per memory frame (origins are frame * HW + pixel)
    working_size_before: int  # working-memory elements before / after the candidates left
    working_size_after: int


class WorkingMemory(KeyValueStore):
    def __init__(self, count_usage: bool) -> None:
        super().__init__(count_usage)
        self.frame_size = 0  # HW: elements per memory frame

    @property
    def num_frames(self) -> float:
        return self.size / self.frame_size if self.frame_size else 0

    def add_frame(
        self,
        key: torch.Tensor,
        shrinkage: torch.Tensor,
        selection: torch.Tensor | None,
        group_values: list[torch.Tensor],
        frame_index: int,
    ) -> None:
        """key CK x HW, shrinkage 1 x HW, selection CK x HW, group_values[g] n_g x CV x HW."""
        hw = key.shape[-1]
        self.frame_size = hw
        origin = frame_index * hw + torch.arange(hw, device=key.device)
        self.append(key, shrinkage, selection, list(group_values), origin)

    def is_full(self, max_frames: int) -> bool:
        """True when working memory holds T_max frames: time to consolidate."""
        return self.frame_size > 0 and self.size >= max_frames * self.frame_size

    def take_candidates(self, min_frames: int) -> Candidates:
        """Remove the consolidation candidates and return them.

        Candidates are all elements except the first memory frame (the annotated frame,
        always kept) and the newest T_min - 1 frames. A group that joined later
        contributes values only from its own second frame on, and only if it has more
        than T_min + 1 frames; otherwise it has nothing to consolidate.
        """
        hw = self.frame_size
        keep_recent = min_frames * hw - hw  # newest (T_min - 1) frames
        start, end = hw, self.size - keep_recent
        min_sieved = min_frames * hw + hw  # groups at least this large lose the slice too
        values: list[torch.Tensor | None] = []
        kinds: list[str] = []
        for v in self.values:
            n = v.shape[-1]
            # Copies: removing the range below compacts the buffers in place.
            if n == self.size:
                values.append(v[..., hw : n - keep_recent].clone())
                kinds.append("full")
            elif n > min_sieved:
                values.append(v[..., hw : n - keep_recent].clone())
                kinds.append("partial")
            else:
                values.append(None)
                kinds.append("none_but_sieved" if n == min_sieved else "none")
        elements, size_before = self.slice(start, end), self.size
        self.remove_range(start, end, min_group_size=min_sieved)
        return Candidates(elements, values, kinds, hw, size_before, self.size)
