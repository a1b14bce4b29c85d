"""Private storage for the memory tiers: growable row buffers (not part of the algorithm).

A `Rows` buffer holds one row per memory element (element-major) with spare capacity, so
adding a memory frame copies only the new rows and removing elements compacts the buffer in
place: no tensor is re-allocated per memory frame, and once the tiers reach their bounds
(T_max frames, L_max elements) memory stops being allocated at all. `RowsView` exposes a
buffer as a store attribute in the paper's channel-first layout (C x N).

Read `store.py` (and the tiers) for the algorithm; this module only says where bytes live.
"""

from __future__ import annotations

import torch


class Rows:
    """A tensor grown along dim 0 with spare capacity: amortised O(1) appends, in-place removal."""

    def __init__(self, limit: int | None = None) -> None:
        self.buf: torch.Tensor | None = None
        self.n = 0
        self.limit = limit  # expected maximum number of rows (a capacity hint, not a bound)

    @property
    def data(self) -> torch.Tensor | None:
        return None if self.buf is None else self.buf[: self.n]

    def __len__(self) -> int:
        return self.n

    def append(self, rows: torch.Tensor) -> None:
        m = rows.shape[0]
        need = self.n + m
        if self.buf is None or need > self.buf.shape[0] or self.buf.shape[1:] != rows.shape[1:] \
                or self.buf.dtype != rows.dtype or self.buf.device != rows.device:
            cap = 0 if self.buf is None else self.buf.shape[0]
            new_cap = max(need, cap + cap // 2, 16)
            if self.limit is not None:
                new_cap = max(need, min(new_cap, self.limit))
            new = rows.new_empty((new_cap, *rows.shape[1:]))
            if self.n:
                new[: self.n] = self.buf[: self.n]
            self.buf = new
        self.buf[self.n : need] = rows
        self.n = need

    def set(self, rows: torch.Tensor | None) -> None:
        """Replace the content (keeps the buffer when `rows` is already its live view)."""
        if rows is None:
            self.buf, self.n = None, 0
            return
        if self.buf is not None and rows.data_ptr() == self.buf.data_ptr() and rows.shape == self.data.shape \
                and rows.stride() == self.data.stride():
            return  # e.g. `store.use_count += x`: already updated in place
        # A private copy: removals compact the buffer in place and must not touch the caller's tensor.
        self.buf, self.n = rows.contiguous().clone(), rows.shape[0]

    def remove_range(self, start: int, end: int) -> None:
        """Drop rows [start, end); later rows move up."""
        tail = self.buf[end : self.n].clone()
        self.buf[start : start + tail.shape[0]] = tail
        self.n = start + tail.shape[0]

    def keep(self, mask: torch.Tensor) -> None:
        """Keep the rows where `mask` (length n) is True, in order."""
        kept = self.buf[: self.n][mask]  # a copy
        self.buf[: kept.shape[0]] = kept
        self.n = kept.shape[0]

    def nbytes(self) -> int:
        if self.buf is None:
            return 0
        return self.n * (self.buf.numel() // max(self.buf.shape[0], 1)) * self.buf.element_size()


class RowsView:
    """A store attribute that reads and writes one of its `Rows` buffers.

    Reading gives a view of the live rows (transposed to C x N if `channel_first`), or None
    before the first element; assigning replaces the buffer's content.
    """

    def __init__(self, rows_attr: str, channel_first: bool = False) -> None:
        self.rows_attr = rows_attr
        self.channel_first = channel_first

    def __get__(self, store, owner=None):
        if store is None:
            return self
        data = getattr(store, self.rows_attr).data
        return data.T if data is not None and self.channel_first else data

    def __set__(self, store, value: torch.Tensor | None) -> None:
        getattr(store, self.rows_attr).set(value.T if value is not None and self.channel_first else value)
