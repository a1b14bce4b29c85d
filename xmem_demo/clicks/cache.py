"""A bounded, per-visitor cache of image embeddings: one encoder run per frame, not per click.

The image encoder is the expensive half of a SAM-family model (seconds on a CPU); the prompt
decoder is cheap (tens of milliseconds). So the embedding of the frame being annotated is
computed once and reused for every click, box and object on that frame. The cache lives in
the visitor's `gr.State` (inside a `ClickSession`): it is never shared between visitors and is
dropped with the tab. `computed` and `reused` count what happened, so tests and the page can
show that a second click did not re-encode the frame.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

DEFAULT_CACHE_FRAMES = 3  # about 16 MB each for SAM 2.1 at 1024 x 1024


@dataclass
class EmbeddingCache:
    max_frames: int = DEFAULT_CACHE_FRAMES
    computed: int = 0  # encoder runs
    reused: int = 0  # clicks served from the cache
    _items: OrderedDict = field(default_factory=OrderedDict, repr=False)

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The embedding for `key` (e.g. (model, clip, frame index)); least recently used goes first."""
        if key in self._items:
            self._items.move_to_end(key)
            self.reused += 1
            return self._items[key]
        value = compute()
        self.computed += 1
        self._items[key] = value
        while len(self._items) > max(self.max_frames, 1):
            self._items.popitem(last=False)
        return value

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        self._items.clear()
