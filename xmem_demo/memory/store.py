"""A key-value store shared by working and long-term memory.

Keys (with their shrinkage s, and selection e for working memory) are shared by all
objects; values are kept per *object group* (the objects first annotated on the same
frame). A group that joined the video later has values only for the newest keys, so
each group's values are right-aligned with the keys: value j of a group with n values
belongs to key (size - n + j). Only this class knows that alignment.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

NEW_LIFE = 1e-7  # life_count of a new element; avoids 0/0 before its first read


@dataclass
class Slice:
    """A contiguous range of a store's elements, with its usage at the time of slicing."""

    key: torch.Tensor  # CK x n
    origin: torch.Tensor  # n
    shrinkage: torch.Tensor  # 1 x n
    selection: torch.Tensor | None  # CK x n
    usage: torch.Tensor | None  # n


class KeyValueStore:
    def __init__(self, count_usage: bool) -> None:
        self.count_usage = count_usage
        self.key: torch.Tensor | None = None  # CK x N
        self.shrinkage: torch.Tensor | None = None  # 1 x N
        self.selection: torch.Tensor | None = None  # CK x N
        self.values: list[torch.Tensor] = []  # per group: (objects in group) x CV x N_g
        self.use_count: torch.Tensor | None = None  # N, float32
        self.life_count: torch.Tensor | None = None  # N, float32
        # Where each element came from: video frame index * HW + pixel index (for teaching
        # and visualisation only; never used by the algorithm).
        self.origin: torch.Tensor | None = None  # N, int64

    # ---- sizes -------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return 0 if self.key is None else self.key.shape[-1]

    @property
    def num_groups(self) -> int:
        return len(self.values)

    def group_size(self, group: int) -> int:
        return self.values[group].shape[-1] if group < len(self.values) else 0

    @property
    def group_sizes(self) -> list[int]:
        return [v.shape[-1] for v in self.values]

    def nbytes(self) -> int:
        tensors = [self.key, self.shrinkage, self.selection, self.use_count, self.life_count, *self.values]
        return sum(t.numel() * t.element_size() for t in tensors if t is not None)

    # ---- writing -----------------------------------------------------------------------
    def append(
        self,
        key: torch.Tensor,
        shrinkage: torch.Tensor,
        selection: torch.Tensor | None,
        group_values: list[torch.Tensor | None],
        origin: torch.Tensor,
    ) -> None:
        """Append n elements. group_values[g] holds group g's values for them (or None).

        A group seen for the first time starts here; earlier groups that get None keep
        their values (they stay right-aligned only if they never get None again).
        """
        n = key.shape[-1]
        cat = lambda old, new: new if old is None else torch.cat([old, new], -1)  # noqa: E731
        self.key = cat(self.key, key)
        self.shrinkage = cat(self.shrinkage, shrinkage)
        self.origin = cat(self.origin, origin.to(torch.int64))
        if selection is not None:
            self.selection = cat(self.selection, selection)
        if self.count_usage:
            device = key.device
            self.use_count = cat(self.use_count, torch.zeros(n, device=device, dtype=torch.float32))
            self.life_count = cat(self.life_count, torch.full((n,), NEW_LIFE, device=device, dtype=torch.float32))
        last_real = max((g for g, v in enumerate(group_values) if v is not None), default=-1)
        for g in range(last_real + 1):
            v = group_values[g]
            if g < len(self.values):
                if v is not None:
                    self.values[g] = torch.cat([self.values[g], v], -1)
            else:
                # A new group; a None here (no values yet) becomes an empty group so that
                # later groups keep their index.
                if v is None:
                    ref = group_values[last_real]
                    v = ref.new_zeros((0, ref.shape[1], 0))
                self.values.append(v)

    # ---- usage (Sec. 3.4: "usage" of an element = how often it is read) ------------------
    def record_usage(self, usage: torch.Tensor) -> None:
        """Add one read's affinity mass per element; every element ages by one read."""
        if not self.count_usage or self.size == 0:
            return
        self.use_count += usage.float()
        self.life_count += 1

    def usage(self) -> torch.Tensor:
        if not self.count_usage:
            raise RuntimeError("this store does not count usage")
        return self.use_count / self.life_count

    # ---- reading and removing ranges ---------------------------------------------------
    def group_key_range(self, group: int) -> tuple[int, int]:
        """Indices [start, size) of the keys that group `group`'s values belong to."""
        return self.size - self.group_size(group), self.size

    def slice(self, start: int, end: int) -> Slice:
        """Elements [start, end): keys, shrinkage, selection and usage (no values)."""
        sel = self.selection[:, start:end] if self.selection is not None else None
        usage = self.usage()[start:end] if self.count_usage else None
        return Slice(self.key[:, start:end], self.origin[start:end], self.shrinkage[:, start:end], sel, usage)

    def remove_range(self, start: int, end: int, min_group_size: int) -> None:
        """Drop keys [start, end) (the official 'sieve').

        A group with at least `min_group_size` values keeps its own first `start` values
        and its last (size - end) values; smaller groups are left whole.
        """
        tail = self.size - end
        keep = lambda t: torch.cat([t[..., :start], t[..., t.shape[-1] - tail :]], -1)  # noqa: E731
        self.key = keep(self.key)
        self.shrinkage = keep(self.shrinkage)
        self.origin = keep(self.origin)
        if self.selection is not None:
            self.selection = keep(self.selection)
        if self.count_usage:
            self.use_count = keep(self.use_count)
            self.life_count = keep(self.life_count)
        for g, v in enumerate(self.values):
            if v.shape[-1] >= min_group_size:
                self.values[g] = keep(v)

    def keep_mask(self, survived: torch.Tensor) -> None:
        """Keep only elements where `survived` (length N) is True; group values follow their keys."""
        n = self.size
        self.key = self.key[:, survived]
        self.shrinkage = self.shrinkage[:, survived]
        self.origin = self.origin[survived]
        if self.selection is not None:
            self.selection = self.selection[:, survived]
        if self.count_usage:
            self.use_count = self.use_count[survived]
            self.life_count = self.life_count[survived]
        self.values = [v[..., survived[n - v.shape[-1] :]] for v in self.values]
