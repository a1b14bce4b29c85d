"""Training on a frozen trunk: its features computed once per training clip, kept in a pool.

The `lite` model's query encoder is a frozen ImageNet trunk, so its features for a clip never
change during training. `FeaturePool` holds training clips together with those features
(f16, f8, f4 in float16) and hands out batches; each step replaces a few of the oldest
clips with new ones, so every clip is computed once and used several times (on average
`batch_size * lifetime / size` times), and the data keeps changing. Only the trained heads
(key projection, value encoder, decoder, sensory GRU) run forward and backward per step.

Clips come from two sources, as in XMem's two training stages:
* synthetic videos (`data.curriculum_batch`, with real textures), and
* the static-image stage (`real_clips.static_image_clip`): random affine deformations of
  the real frames the project ships with masks.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

Features = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # f16, f8, f4 (T x C x h x w each)


@dataclass
class PooledClip:
    frames: torch.Tensor  # T x S x S x 3 uint8
    masks: torch.Tensor  # T x S x S uint8
    num_objects: int
    features: Features  # float16
    reversible: bool  # every object shows on the last frame, so the clip may be played backwards


# makes one clip: (rng) -> (frames T x S x S x 3 uint8, masks T x S x S uint8, number of objects)
ClipMaker = Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray, int]]


class FeaturePool:
    """A FIFO pool of training clips with their frozen-trunk features, one pool per frame size."""

    def __init__(self, trunk: torch.nn.Module, normalise: Callable[[torch.Tensor], torch.Tensor],
                 size: int, device: torch.device = torch.device("cpu")) -> None:
        self.trunk = trunk
        self.normalise = normalise
        self.size = size  # clips per frame size
        self.device = device
        self.pools: dict[int, deque[PooledClip]] = {}
        self.clips_made = 0

    @torch.no_grad()
    def add(self, frames: np.ndarray, masks: np.ndarray, num_objects: int) -> None:
        frames_t = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device)
        f16, f8, f4 = self.trunk(self.normalise(frames_t))
        last = masks[-1]
        reversible = all((last == k).sum() >= 16 for k in range(1, int(num_objects) + 1))
        clip = PooledClip(frames_t, torch.from_numpy(np.ascontiguousarray(masks)).to(self.device), int(num_objects),
                          (f16.half(), f8.half(), f4.half()), reversible)
        pool = self.pools.setdefault(frames.shape[1], deque(maxlen=self.size))
        pool.append(clip)  # the oldest falls out when full
        self.clips_made += 1

    def fill(self, rng: np.random.Generator, make: ClipMaker, sizes: tuple[int, ...], count: int) -> None:
        for i in range(count):
            size = sizes[i % len(sizes)]
            self.add(*make(rng, size))

    def sample(self, rng: np.random.Generator, batch_size: int, sizes: tuple[int, ...], reverse_prob: float = 0.5):
        """A batch from one frame size: frames, masks, counts and features (B x T x ...); a clip may
        be played backwards (the features are per frame, so that costs nothing) when all its
        objects show on its last frame (the new first frame, whose mask is given)."""
        candidates = [s for s in sizes if self.pools.get(s)]
        pool = self.pools[int(rng.choice(candidates))]
        picks = [pool[int(i)] for i in rng.integers(0, len(pool), batch_size)]
        order = [torch.arange(c.frames.shape[0] - 1, -1, -1) if c.reversible and rng.random() < reverse_prob else None
                 for c in picks]

        def stack(get):
            return torch.stack([get(c) if o is None else get(c)[o] for c, o in zip(picks, order)])

        frames, masks = stack(lambda c: c.frames), stack(lambda c: c.masks)
        features = tuple(stack(lambda c, i=i: c.features[i]).float() for i in range(3))
        counts = [c.num_objects for c in picks]
        return frames, masks, counts, features


__all__ = ["FeaturePool", "PooledClip"]
