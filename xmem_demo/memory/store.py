"""A key-value store shared by working and long-term memory.

Keys (with their shrinkage s, and selection e for working memory) are shared by all
objects; values are kept per *object group* (the objects first annotated on the same
frame). A group that joined the video later has values only for the newest keys, so
each group's values are right-aligned with the keys: value j of a group with n values
belongs to key (size - n + j). Only this class knows that alignment.

Storage: every per-element tensor lives in a private, growable row buffer (`_rows.py`), so
memory stops being allocated once the tiers reach their bounds (T_max frames, L_max
elements). The public attributes (`key` CK x N, `shrinkage` 1 x N, `selection` CK x N,
`values[g]` objects x CV x N_g, `use_count`, `life_count`, `origin`) are views of these
buffers in the channel-first layout of the paper; `value_rows(g)` gives the element-major
rows that the fast read (`fast_read.py`) fetches k at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ._rows import Rows, RowsView

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
        self.max_elements: int | None = None  # capacity hint (the tier's bound, if known)
        self._key = Rows()  # N x CK
        self._shrinkage = Rows()  # N x 1
        self._selection = Rows()  # N x CK
        self._use = Rows()  # N, float32
        self._life = Rows()  # N, float32
        # Where each element came from: video frame index * HW + pixel index (for teaching
        # and visualisation only; never used by the algorithm).
        self._origin = Rows()  # N, int64
        self._values: list[Rows] = []  # per group: N_g x (objects in group) x CV

    # ---- views in the channel-first layout (see _rows.RowsView) ---------------------------------
    key = RowsView("_key", channel_first=True)  # CK x N
    shrinkage = RowsView("_shrinkage", channel_first=True)  # 1 x N
    selection = RowsView("_selection", channel_first=True)  # CK x N
    use_count = RowsView("_use")  # N, float32
    life_count = RowsView("_life")  # N, float32
    origin = RowsView("_origin")  # N, int64

    @property
    def values(self) -> list[torch.Tensor]:
        """Per group: (objects in group) x CV x N_g (views)."""
        return [r.data.permute(1, 2, 0) for r in self._values]

    def value_rows(self, group: int) -> torch.Tensor:
        """Group `group`'s values as N_g x (objects * CV) rows (a view)."""
        r = self._values[group].data
        return r.view(r.shape[0], -1)

    # ---- sizes -------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return len(self._key)

    @property
    def num_groups(self) -> int:
        return len(self._values)

    def group_size(self, group: int) -> int:
        return len(self._values[group]) if group < len(self._values) else 0

    @property
    def group_sizes(self) -> list[int]:
        return [len(v) for v in self._values]

    def nbytes(self) -> int:
        """Bytes of the elements held (not counting spare capacity)."""
        parts = [self._key, self._shrinkage, self._selection, self._use, self._life, *self._values]
        return sum(p.nbytes() for p in parts)

    # ---- writing -----------------------------------------------------------------------
    def _element_rows(self) -> list[Rows]:
        """The buffers with one row per element (values are per group, right-aligned)."""
        return [self._key, self._shrinkage, self._selection, self._use, self._life, self._origin]

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
        for r in [*self._element_rows(), *self._values]:
            r.limit = self.max_elements
        self._key.append(key.T)
        self._shrinkage.append(shrinkage.T)
        self._origin.append(origin.to(torch.int64))
        if selection is not None:
            self._selection.append(selection.T)
        if self.count_usage:
            device = key.device
            self._use.append(torch.zeros(n, device=device, dtype=torch.float32))
            self._life.append(torch.full((n,), NEW_LIFE, device=device, dtype=torch.float32))
        last_real = max((g for g, v in enumerate(group_values) if v is not None), default=-1)
        for g in range(last_real + 1):
            v = group_values[g]
            if g >= len(self._values):
                # A new group; a None here (no values yet) becomes an empty group so that
                # later groups keep their index.
                self._values.append(Rows(self.max_elements))
                if v is None:
                    ref = group_values[last_real]
                    v = ref.new_zeros((0, ref.shape[1], 0))
            if v is not None:
                self._values[g].append(v.permute(2, 0, 1))

    # ---- usage (Sec. 3.4: "usage" of an element = how often it is read) ------------------
    def record_usage(self, usage: torch.Tensor) -> None:
        """Add one read's affinity mass per element; every element ages by one read."""
        if not self.count_usage or self.size == 0:
            return
        self._use.data.add_(usage.float())
        self._life.data.add_(1)

    def usage(self) -> torch.Tensor:
        if not self.count_usage:
            raise RuntimeError("this store does not count usage")
        return self.use_count / self.life_count

    # ---- reading and removing ranges ---------------------------------------------------
    def group_key_range(self, group: int) -> tuple[int, int]:
        """Indices [start, size) of the keys that group `group`'s values belong to."""
        return self.size - self.group_size(group), self.size

    def slice(self, start: int, end: int) -> Slice:
        """Elements [start, end): keys, shrinkage, selection and usage (no values); copies."""
        sel = self.selection[:, start:end].clone() if self.selection is not None else None
        usage = self.usage()[start:end] if self.count_usage else None
        return Slice(self.key[:, start:end].clone(), self.origin[start:end].clone(),
                     self.shrinkage[:, start:end].clone(), sel, usage)

    def take_range(self, start: int, end: int, min_group_size: int) -> tuple[Slice, list[torch.Tensor | None], list[str]]:
        """Remove keys [start, end) and return them with each group's values for them.

        Returns (the elements, per group its values (objects x CV x m, the LAST m elements
        of the range) or None, per group its kind). As the official `compress_features`:

        * "full": the group has a value for every key; its values [start, end) go.
        * "partial": a group that joined later, with MORE than `min_group_size` values:
          its own values [start, n_g - (size - end)) go, right-aligned with the range.
        * "none": fewer values: nothing goes, the group's values stay whole.
        * "none_but_sieved": EXACTLY `min_group_size` values. The official code's
          off-by-one, kept on purpose: it hands over values only when
          n_g > min_size (`compress_features`) but removes them when n_g >= min_size
          (`sieve_by_range`), so this group loses those values and none of them
          reaches long-term memory (docs/departures.md).
        """
        tail = self.size - end
        values: list[torch.Tensor | None] = []
        kinds: list[str] = []
        for v in self.values:
            n = v.shape[-1]
            if n == self.size or n > min_group_size:
                # A copy: removing the range below compacts the buffers in place.
                values.append(v[..., start : n - tail].clone())
                kinds.append("full" if n == self.size else "partial")
            else:
                values.append(None)
                kinds.append("none_but_sieved" if n == min_group_size else "none")
        elements = self.slice(start, end)
        self.remove_range(start, end, min_group_size)
        return elements, values, kinds

    def remove_range(self, start: int, end: int, min_group_size: int) -> None:
        """Drop keys [start, end) (the official 'sieve').

        A group with at least `min_group_size` values keeps its own first `start` values
        and its last (size - end) values; smaller groups are left whole.
        """
        tail = self.size - end
        for r in self._element_rows():
            if r.buf is not None:
                r.remove_range(start, end)
        for v in self._values:
            if len(v) >= min_group_size:
                v.remove_range(start, len(v) - tail)

    def keep_mask(self, survived: torch.Tensor) -> None:
        """Keep only elements where `survived` (length N) is True; group values follow their keys."""
        n = self.size
        for r in self._element_rows():
            if r.buf is not None:
                r.keep(survived)
        for v in self._values:
            v.keep(survived[n - len(v) :])
