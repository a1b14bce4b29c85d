"""Synthetic videos: textured objects moving over textured backgrounds, with exact masks.

Used to train the bundled `mini` model, as a held-out benchmark, and for long-video
demos (10,000+ frames, streamed). Everything is procedural and deterministic from a seed,
and any frame t can be rendered directly (trajectories are analytic functions of time), so
a clip of any length needs no memory beyond one frame.

What makes it a tracking problem rather than colour thresholding: every object has its own
texture, distractors share a target's shape family and texture with a small colour shift,
objects occlude each other (z-order changes over time), deform, change scale, leave the
frame and come back, and the lighting and camera drift.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterator

import cv2
import numpy as np

BENCHMARK_SEED_BASE = 1_000_000  # seeds >= this are reserved for held-out evaluation
TRAINING_SEED_LIMIT = 15_000  # training draws clip seeds from [0, TRAINING_SEED_LIMIT)
# Validation (learning curves while training): seeds from here, below the benchmark. Neither
# they nor `make_clip`'s re-drawn layouts (seed * 64 + attempt, >= 61,440,000 and
# < 64,000,000) can be reached from a training seed (at most 14,999 * 64 + 49 = 959,985)
# or from a benchmark seed (1,000,000 + i, re-drawn to 64,000,000 + ...).
VALIDATION_SEED_BASE = 960_000
MIN_VISIBLE_FRACTION = 0.005  # every target shows at least this much of the image at t = 0


@dataclass(frozen=True)
class SyntheticConfig:
    height: int = 240
    width: int = 320
    num_frames: int = 100
    num_objects: int | tuple[int, int] = (1, 3)  # labelled targets, inclusive range per clip
    num_distractors: tuple[int, int] = (0, 2)  # unlabelled look-alikes
    occlusion: bool = True  # z-order changes over time
    leave_and_reenter: bool = True  # some paths leave the frame and come back
    exit_prob: float = 0.5  # with leave_and_reenter: chance that a target's path leaves the frame
    deformation: bool = True  # non-uniform, time-varying stretch and shape wobble
    scale_change: bool = True
    lighting_change: bool = True
    camera_motion: bool = True
    noise_std: float = 3.0
    speed: float = 1.0  # multiplies every motion frequency


def _texture(rng: np.random.Generator, h: int, w: int, base: np.ndarray, contrast: float) -> np.ndarray:
    """A procedural RGB texture: oriented stripes, blobs and noise around a base colour."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    pattern = np.zeros((h, w), np.float32)
    for _ in range(rng.integers(1, 4)):
        angle = rng.uniform(0, np.pi)
        freq = rng.uniform(0.05, 0.4)
        pattern += np.sin((np.cos(angle) * xx + np.sin(angle) * yy) * freq + rng.uniform(0, 2 * np.pi))
    noise = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), rng.uniform(1, 4))
    pattern = pattern / (np.abs(pattern).max() + 1e-6) + 1.5 * noise / (np.abs(noise).max() + 1e-6)
    second = rng.uniform(0, 255, 3).astype(np.float32)
    mix = (0.5 + 0.5 * np.tanh(pattern))[..., None]
    tex = base[None, None] * (1 - contrast * mix) + second[None, None] * contrast * mix
    return np.clip(tex, 0, 255).astype(np.float32)


@dataclass
class _Object:
    label: int  # 1..K for targets, 0 for distractors
    texture: np.ndarray  # S x S x 3
    radii: np.ndarray  # radial Fourier coefficients of the outline
    phases: np.ndarray
    size: float  # base radius in pixels
    path_amp: np.ndarray  # (2, n) amplitudes of the trajectory's sinusoids (y, x)
    path_freq: np.ndarray
    path_phase: np.ndarray
    centre: np.ndarray  # (2,) mean position (y, x)
    exit_window: tuple[float, float] | None  # times (fraction of clip) it swings out of frame
    exit_dir: np.ndarray
    depth_phase: float
    depth_freq: float
    rot_freq: float
    wobble_freq: float
    scale_freq: float
    twin: int | None = None  # distractors: index of the target they imitate


class SyntheticClip:
    """One deterministic synthetic clip; `frame(t)` renders frame t directly."""

    def __init__(self, seed: int, config: SyntheticConfig = SyntheticConfig()) -> None:
        self.seed = seed
        self.config = config
        rng = np.random.default_rng(seed)
        c = config
        lo, hi = (c.num_objects, c.num_objects) if isinstance(c.num_objects, int) else c.num_objects
        self._num_targets = int(rng.integers(lo, hi + 1))
        num_distractors = int(rng.integers(c.num_distractors[0], c.num_distractors[1] + 1))
        pad = max(c.height, c.width) // 4
        self._pad = pad
        self._background = _texture(rng, c.height + 2 * pad, c.width + 2 * pad, rng.uniform(40, 220, 3), rng.uniform(0.3, 0.8))
        self._cam = rng.uniform(0, 2 * np.pi, 4), rng.uniform(0.2, 1.0, 2)
        self._light = rng.uniform(0, 2 * np.pi, 3)
        self._objects: list[_Object] = []
        for label in range(1, self._num_targets + 1):
            self._objects.append(self._make_object(rng, label))
        for _ in range(num_distractors):
            # A look-alike of a random target: same texture with a colour shift, similar shape.
            twin_index = int(rng.integers(0, self._num_targets))
            twin = self._objects[twin_index]
            obj = self._make_object(rng, 0)
            obj.twin = twin_index
            obj.texture = np.clip(twin.texture + rng.uniform(-25, 25, 3), 0, 255).astype(np.float32)
            obj.radii = twin.radii * rng.uniform(0.8, 1.2, twin.radii.shape)
            self._objects.append(obj)

    # ---- construction ----------------------------------------------------------------------
    def _make_object(self, rng: np.random.Generator, label: int) -> _Object:
        c = self.config
        short = min(c.height, c.width)
        n_harm = 5
        radii = np.zeros(n_harm)
        radii[1:] = rng.uniform(0, 0.25, n_harm - 1) / np.arange(1, n_harm) ** 0.5
        exit_window = None
        if c.leave_and_reenter and label > 0 and rng.random() < c.exit_prob:
            start = rng.uniform(0.25, 0.6)
            exit_window = (start, start + rng.uniform(0.1, 0.25))
        angle = rng.uniform(0, 2 * np.pi)
        size = short * rng.uniform(0.09, 0.16)
        return _Object(
            label=label,
            texture=_texture(rng, 64, 64, rng.uniform(0, 255, 3), rng.uniform(0.4, 0.9)),
            radii=radii,
            phases=rng.uniform(0, 2 * np.pi, n_harm),
            size=size,
            path_amp=rng.uniform(0.05, 0.3, (2, 2)) * np.array([[c.height], [c.width]]),
            path_freq=rng.uniform(0.3, 1.2, (2, 2)) * c.speed,
            path_phase=rng.uniform(0, 2 * np.pi, (2, 2)),
            centre=np.array([rng.uniform(0.3, 0.7) * c.height, rng.uniform(0.3, 0.7) * c.width]),
            exit_window=exit_window,
            exit_dir=np.array([np.sin(angle), np.cos(angle)]),
            depth_phase=rng.uniform(0, 2 * np.pi),
            depth_freq=rng.uniform(0.2, 0.8) * c.speed if c.occlusion else 0.0,
            rot_freq=rng.uniform(-0.6, 0.6) * c.speed,
            wobble_freq=rng.uniform(0.5, 1.5) * c.speed if c.deformation else 0.0,
            scale_freq=rng.uniform(0.2, 0.7) * c.speed if c.scale_change else 0.0,
        )

    def retexture(
        self,
        rng: np.random.Generator,
        sample: Callable[[np.random.Generator, int, int], np.ndarray],
        p_background: float = 0.5,
        p_object: float = 0.5,
    ) -> "SyntheticClip":
        """Swap procedural textures for others (e.g. crops of real frames): copy-paste compositing.

        `sample(rng, h, w)` returns an h x w x 3 float32 RGB texture. The background is
        replaced with probability `p_background`, each target's texture with `p_object`;
        a distractor whose target changed follows it (same texture, small colour shift), so
        look-alikes stay look-alike. Shapes, motion and masks do not change. Used for
        training only: clips built without it are exactly the procedural ones.
        """
        c = self.config
        if rng.random() < p_background:
            self._background = sample(rng, c.height + 2 * self._pad, c.width + 2 * self._pad)
        changed = set()
        for i, obj in enumerate(self._objects):
            if obj.label > 0 and rng.random() < p_object:
                obj.texture = sample(rng, *obj.texture.shape[:2])
                changed.add(i)
        for obj in self._objects:
            if obj.twin in changed:
                shift = rng.uniform(-25, 25, 3)
                obj.texture = np.clip(self._objects[obj.twin].texture + shift, 0, 255).astype(np.float32)
        return self

    # ---- properties --------------------------------------------------------------------------
    @property
    def num_frames(self) -> int:
        return self.config.num_frames

    @property
    def height(self) -> int:
        return self.config.height

    @property
    def width(self) -> int:
        return self.config.width

    @property
    def num_objects(self) -> int:
        return self._num_targets

    # ---- rendering ---------------------------------------------------------------------------
    def _pose(self, obj: _Object, t: int) -> tuple[np.ndarray, float, float, float, float]:
        """Position (y, x), scale, stretch, rotation and depth of an object at frame t."""
        s = t / 10.0  # time in "seconds" at 10 fps
        pos = obj.centre + (obj.path_amp * np.sin(obj.path_freq * s + obj.path_phase)).sum(1)
        if obj.exit_window is not None:
            frac = t / max(self.num_frames - 1, 1)
            a, b = obj.exit_window
            if a < frac < b:
                # A smooth excursion well outside the frame and back.
                bump = np.sin(np.pi * (frac - a) / (b - a)) ** 2
                pos = pos + obj.exit_dir * bump * 1.2 * max(self.height, self.width)
        scale = 1.0 + 0.3 * np.sin(obj.scale_freq * s + obj.phases[0])
        stretch = 1.0 + 0.25 * np.sin(obj.wobble_freq * s + obj.phases[1])
        rotation = obj.rot_freq * s + obj.phases[2]
        depth = np.sin(obj.depth_freq * s + obj.depth_phase)
        return pos, scale, stretch, rotation, depth

    def _shape_mask(self, obj: _Object, t: int) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
        pos, scale, stretch, rotation, _ = self._pose(obj, t)
        radius = obj.size * scale
        r = int(np.ceil(radius * 1.6 * max(stretch, 1 / stretch))) + 2
        y0, x0 = int(pos[0]) - r, int(pos[1]) - r
        y1, x1 = y0 + 2 * r + 1, x0 + 2 * r + 1
        if y1 <= 0 or x1 <= 0 or y0 >= self.height or x0 >= self.width:
            return None
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        dy, dx = yy - pos[0], xx - pos[1]
        cos, sin = np.cos(rotation), np.sin(rotation)
        u, v = (cos * dx + sin * dy) / stretch, (-sin * dx + cos * dy) * stretch
        theta = np.arctan2(v, u)
        wobble = 0.1 * np.sin(obj.wobble_freq * t / 10.0) if obj.wobble_freq else 0.0
        boundary = 1.0 + sum(
            obj.radii[k] * np.cos(k * theta + obj.phases[k] + wobble * k) for k in range(1, len(obj.radii))
        )
        inside = np.sqrt(u * u + v * v) <= radius * boundary
        return inside, (y0, x0, u, v)

    def frame(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame t: (H x W x 3 uint8 RGB image, H x W uint8 mask; 0 = background or distractor)."""
        if not 0 <= t < self.num_frames:
            raise IndexError(f"frame {t} outside 0..{self.num_frames - 1}")
        c = self.config
        h, w, pad = c.height, c.width, self._pad
        if c.camera_motion:
            phase, amp = self._cam
            dy = int(pad + pad * 0.9 * amp[0] * np.sin(0.05 * t + phase[0]))
            dx = int(pad + pad * 0.9 * amp[1] * np.sin(0.04 * t + phase[1]))
        else:
            dy = dx = pad
        image = self._background[dy : dy + h, dx : dx + w].copy()
        mask = np.zeros((h, w), np.uint8)
        # Paint back to front: a pixel belongs to the top-most object.
        order = sorted(self._objects, key=lambda o: self._pose(o, t)[4])
        for obj in order:
            shape = self._shape_mask(obj, t)
            if shape is None:
                continue
            inside, (y0, x0, u, v) = shape
            ty0, tx0 = max(y0, 0), max(x0, 0)
            ty1, tx1 = min(y0 + inside.shape[0], h), min(x0 + inside.shape[1], w)
            if ty1 <= ty0 or tx1 <= tx0:
                continue
            sl = (slice(ty0 - y0, ty1 - y0), slice(tx0 - x0, tx1 - x0))
            region = inside[sl]
            # Texture in object coordinates, so it moves, turns and stretches with the object.
            tu = (u[sl] * 1.0).astype(np.int64) % obj.texture.shape[1]
            tv = (v[sl] * 1.0).astype(np.int64) % obj.texture.shape[0]
            colours = obj.texture[tv, tu]
            # Soft shading towards the rim gives the objects some depth.
            rim = np.clip(1.15 - 0.35 * (np.sqrt(u[sl] ** 2 + v[sl] ** 2) / (obj.size * 1.3)), 0.6, 1.15)
            target = image[ty0:ty1, tx0:tx1]
            target[region] = colours[region] * rim[region, None]
            mask[ty0:ty1, tx0:tx1][region] = obj.label
        if c.lighting_change:
            g = self._light
            gain = 1.0 + 0.2 * np.sin(0.03 * t + g[0])
            yy, xx = np.ogrid[0:h, 0:w]
            cy = h * (0.5 + 0.4 * np.sin(0.02 * t + g[1]))
            cx = w * (0.5 + 0.4 * np.cos(0.025 * t + g[2]))
            spot = 1.0 + 0.25 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (0.3 * max(h, w)) ** 2))
            image = image * (gain * spot)[..., None] if np.ndim(spot) else image * gain
        if c.noise_std > 0:
            noise_rng = np.random.default_rng((self.seed, t))
            image = image + noise_rng.normal(0, c.noise_std, image.shape)
        return np.clip(image, 0, 255).astype(np.uint8), mask

    def iter_frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for t in range(start, self.num_frames if stop is None else min(stop, self.num_frames)):
            yield self.frame(t)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return self.iter_frames()

    def __len__(self) -> int:
        return self.num_frames

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        frames, masks = zip(*self.iter_frames())
        return np.stack(frames), np.stack(masks)

    def first_appearance(self, min_pixels: int = 1) -> dict[int, int]:
        seen: dict[int, int] = {}
        for t in range(self.num_frames):
            _, mask = self.frame(t)
            for label in range(1, self._num_targets + 1):
                if label not in seen and (mask == label).sum() >= min_pixels:
                    seen[label] = t
            if len(seen) == self._num_targets:
                break
        return seen


def make_clip(seed: int, **overrides) -> SyntheticClip:
    """A clip whose targets are all visible on frame 0 (re-drawing the seed's layout if needed)."""
    config = replace(SyntheticConfig(), **overrides)
    for attempt in range(50):
        clip = SyntheticClip(seed * 64 + attempt if attempt else seed, config)
        _, mask = clip.frame(0)
        need = MIN_VISIBLE_FRACTION * mask.size
        if all((mask == k).sum() >= need for k in range(1, clip.num_objects + 1)):
            return clip
    return clip


def check_training_seed(seed: int) -> int:
    """Training must never see a benchmark clip: refuse seeds in the held-out range."""
    if not 0 <= seed < TRAINING_SEED_LIMIT:
        raise ValueError(f"seed {seed} is not a training seed (held-out clips start at {BENCHMARK_SEED_BASE})")
    return seed


def training_batch(
    rng: np.random.Generator, batch_size: int, num_frames: int, height: int, width: int,
    max_gap: int = 4,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A batch of short training clips: frames sampled with random gaps from longer clips.

    Returns frames uint8 [B, T, H, W, 3], masks uint8 [B, T, H, W], num_objects [B].
    Clip seeds are drawn below TRAINING_SEED_LIMIT so that neither a seed nor `make_clip`'s
    re-drawn layouts (seed * 64 + attempt) reach the validation or held-out ranges.
    """
    frames = np.zeros((batch_size, num_frames, height, width, 3), np.uint8)
    masks = np.zeros((batch_size, num_frames, height, width), np.uint8)
    counts = np.zeros(batch_size, np.int64)
    for b in range(batch_size):
        seed = check_training_seed(int(rng.integers(0, TRAINING_SEED_LIMIT)))
        gaps = rng.integers(1, max_gap + 1, num_frames - 1)
        length = int(gaps.sum()) + 1
        clip = make_clip(seed, height=height, width=width, num_frames=length, speed=float(rng.uniform(0.5, 2.0)))
        times = np.concatenate([[0], np.cumsum(gaps)])
        for i, t in enumerate(times):
            frames[b, i], masks[b, i] = clip.frame(int(t))
        counts[b] = clip.num_objects
    return frames, masks, counts
