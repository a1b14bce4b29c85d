"""Object groups: which objects share value columns in memory.

Objects first annotated on the same frame form a group; their values are written
together from that frame on. Working and long-term memory store one value tensor per
group, so tier code never deals with individual object ids.
"""

from __future__ import annotations

import torch


class ObjectGroups:
    def __init__(self) -> None:
        self.groups: list[list[int]] = []  # internal object indices (0-based), per group

    @property
    def num_objects(self) -> int:
        return sum(len(g) for g in self.groups)

    def __len__(self) -> int:
        return len(self.groups)

    def add_objects(self, total: int) -> None:
        """Objects num_objects .. total-1 are new: they form one new group."""
        start = self.num_objects
        if total > start:
            self.groups.append(list(range(start, total)))

    def split(self, values: torch.Tensor) -> list[torch.Tensor]:
        """values K x CV x HW (all objects) -> per group n_g x CV x HW."""
        return [values[g[0] : g[-1] + 1] for g in self.groups]
