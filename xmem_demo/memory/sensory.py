"""Sensory memory: a small per-object hidden state, updated every frame (Sec. 3.2).

Like a GRU state, it carries short-term, position-sensitive cues (where the object was a
moment ago). Each object has a C^h x H/16 x W/16 map. The decoder updates it on ordinary
frames; every d frames (by default on every memory frame, i.e. d = r) the value encoder
gives it a "deep update" from richer features. It never grows with the video.
"""

from __future__ import annotations

import torch


class SensoryMemory:
    def __init__(self, hidden_dim: int) -> None:
        self.hidden_dim = hidden_dim
        self.state: torch.Tensor | None = None  # 1 x num_objects x C^h x h x w

    @property
    def num_objects(self) -> int:
        return 0 if self.state is None else self.state.shape[1]

    def add_objects(self, total: int, like: torch.Tensor) -> None:
        """Grow to `total` objects; new objects start from a zero state. `like` gives h, w, device."""
        h, w = like.shape[-2:]
        missing = total - self.num_objects
        if missing <= 0:
            return
        zeros = torch.zeros((1, missing, self.hidden_dim, h, w), device=like.device, dtype=like.dtype)
        self.state = zeros if self.state is None else torch.cat([self.state, zeros], 1)

    def get(self) -> torch.Tensor | None:
        return self.state

    def set(self, state: torch.Tensor | None) -> None:
        if state is not None:
            self.state = state

    def nbytes(self) -> int:
        return 0 if self.state is None else self.state.numel() * self.state.element_size()
