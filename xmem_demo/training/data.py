"""Training clips: the synthetic generator, a curriculum over its difficulties, real textures.

* **Curriculum** (`CURRICULUM`): training starts on easy clips (one or two targets, no
  look-alikes, nobody leaves the frame, slow motion, small gaps between sampled frames,
  96 x 96) and adds the hard cases in stages: look-alike distractors, objects leaving and
  re-entering, faster motion and larger gaps, then more and larger frames.
* **Real textures** (`RealTextures`): crops of the frames of the bundled real clip
  (`xmem_demo/assets/examples/judo.mp4`) are pasted as backgrounds and object textures
  (`SyntheticClip.retexture`), so the network sees real image statistics, not only
  procedural stripes. The held-out benchmark never uses them (its clips are built without).

Seeds come from `synthetic.training_batch`'s range only (`check_training_seed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .. import synthetic
from ..resources import EXAMPLE_CLIP as REAL_CLIP


@dataclass(frozen=True)
class Stage:
    """One step of the curriculum: the synthetic difficulties enabled from `start` on."""

    start: int  # first training step of this stage
    num_objects: tuple[int, int]
    num_distractors: tuple[int, int]
    exit_prob: float
    speed: tuple[float, float]
    max_gap: int
    sizes: tuple[int, ...]  # square frame sizes (multiples of 16), one drawn per batch


CURRICULUM: tuple[Stage, ...] = (
    Stage(0, (1, 2), (0, 0), 0.0, (0.5, 1.0), 2, (96,)),
    Stage(300, (1, 3), (0, 2), 0.3, (0.5, 1.5), 3, (96, 112)),
    Stage(900, (1, 3), (1, 3), 0.6, (0.5, 2.0), 4, (96, 112, 128)),
)


def stage_at(step: int, curriculum: tuple[Stage, ...] = CURRICULUM) -> Stage:
    return [s for s in curriculum if s.start <= step][-1]


class RealTextures:
    """Random crops of a real clip's frames, as textures (float32 RGB, any size)."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        if not frames:
            raise ValueError("RealTextures needs at least one frame")
        self.frames = frames

    @classmethod
    def from_video(cls, path: str | Path = REAL_CLIP, every: int = 1) -> "RealTextures":
        from ..video import open_video

        with open_video(path) as video:
            # The bundled clip plays forward then backward: keep the distinct first half.
            n = (len(video) + 1) // 2 if Path(path) == REAL_CLIP else len(video)
            return cls([video.get(i) for i in range(0, n, every)])

    def __call__(self, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
        frame = self.frames[int(rng.integers(len(self.frames)))]
        fh, fw = frame.shape[:2]
        # A crop of 30-100% of the frame's short side, with the target's aspect ratio.
        side = rng.uniform(0.3, 1.0) * min(fh, fw)
        ch, cw = side, side * w / h
        if cw > fw:
            ch, cw = ch * fw / cw, fw
        ch, cw = max(int(ch), 4), max(int(cw), 4)
        y, x = int(rng.integers(0, fh - ch + 1)), int(rng.integers(0, fw - cw + 1))
        crop = cv2.resize(frame[y : y + ch, x : x + cw], (w, h), interpolation=cv2.INTER_LINEAR)
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        gain = rng.uniform(0.75, 1.25, 3)  # colour jitter, so pasted copies differ
        return np.clip(crop.astype(np.float32) * gain, 0, 255).astype(np.float32)


def curriculum_batch(
    rng: np.random.Generator,
    step: int,
    batch_size: int,
    num_frames: int,
    textures: RealTextures | None = None,
    p_real: float = 0.5,
    curriculum: tuple[Stage, ...] = CURRICULUM,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A batch of training clips at the curriculum stage of `step`.

    Returns frames uint8 [B, T, S, S, 3], masks uint8 [B, T, S, S], num_objects [B];
    S is drawn from the stage's sizes.
    """
    stage = stage_at(step, curriculum)
    size = int(rng.choice(stage.sizes))
    frames = np.zeros((batch_size, num_frames, size, size, 3), np.uint8)
    masks = np.zeros((batch_size, num_frames, size, size), np.uint8)
    counts = np.zeros(batch_size, np.int64)
    for b in range(batch_size):
        seed = synthetic.check_training_seed(int(rng.integers(0, synthetic.TRAINING_SEED_LIMIT)))
        gaps = rng.integers(1, stage.max_gap + 1, num_frames - 1)
        clip = synthetic.make_clip(
            seed, height=size, width=size, num_frames=int(gaps.sum()) + 1,
            num_objects=stage.num_objects, num_distractors=stage.num_distractors,
            exit_prob=stage.exit_prob, leave_and_reenter=stage.exit_prob > 0,
            speed=float(rng.uniform(*stage.speed)),
        )
        if textures is not None:
            clip.retexture(rng, textures, p_real, p_real)
        for i, t in enumerate(np.concatenate([[0], np.cumsum(gaps)])):
            frames[b, i], masks[b, i] = clip.frame(int(t))
        counts[b] = clip.num_objects
    return frames, masks, counts
