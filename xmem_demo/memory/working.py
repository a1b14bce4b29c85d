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

    def first_with_values(self, group: int) -> int:
        """Index of the first candidate that `group` has a value for (values are right-aligned)."""
        return self.elements.key.shape[-1] - self.group_values[group].shape[-1]


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
        """Remove the consolidation candidates and return them (Sec. 3.4).

        Candidates are all elements except the first memory frame (the annotated frame,
        always kept) and the newest T_min - 1 frames. (How object groups that joined later
        take part, including the official off-by-one, is `KeyValueStore.take_range`.)
        """
        hw = self.frame_size
        keep_recent = (min_frames - 1) * hw  # the newest T_min - 1 frames
        size_before = self.size
        elements, values, kinds = self.take_range(hw, self.size - keep_recent, min_group_size=(min_frames + 1) * hw)
        return Candidates(elements, values, kinds, hw, size_before, self.size)
