"""XMem's static-image stage (Sec. 4 of the paper, "pre-training on static images"), from real frames.

Before it sees videos, XMem trains on short clips made from single images: each frame is a
random affine deformation of the same image and its mask, so the network learns to match
an object across changes of pose, scale and position. This module does the same with the
real frames the project ships with masks (the bundled judo clip's annotated frame), and
pastes its objects over other real backgrounds (crops of the judo clip and, where gradio is
installed, the photos gradio ships) so that the background is not always the same.

Every clip: a smooth path between two random affine poses (rotation, scale, shift, shear),
frames sampled along it with a little jitter, colour jitter per clip, optional flip.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..resources import EXAMPLE_CLIP, EXAMPLE_MASK


@dataclass(frozen=True)
class MaskedImage:
    image: np.ndarray  # H x W x 3 uint8 RGB
    mask: np.ndarray  # H x W uint8 index mask (0 = background)


def shipped_masked_frames(golden: Path | None = None) -> list[MaskedImage]:
    """The real frames this project has with masks: the judo example's annotated frame (the two
    fighters), and, where the team's golden data is present (`golden`: its golden.npz), its
    annotations of three spectators on later frames of the same clip: there the fighters are
    unlabelled, so the network learns that what it tracks is what memory says, not whatever
    stands out."""
    from ..video import open_video, read_index_mask

    with open_video(EXAMPLE_CLIP) as video:
        frame = video.get(0)
    mask = read_index_mask(EXAMPLE_MASK)
    sources = [MaskedImage(frame, mask.astype(np.uint8))]
    if golden is not None and golden.is_file():
        data = np.load(golden)
        for t, labels in zip(data["mask_frames"], data["masks"]):
            if int(t) != 0:  # frame 0 is the shipped annotation above
                sources.append(MaskedImage(data["frames"][int(t)], (labels > 0).astype(np.uint8)))
    return sources


def keep_some_targets(rng: np.random.Generator, masks: np.ndarray, num_objects: int, p: float) -> tuple[np.ndarray, int]:
    """With probability p (and 2+ objects), keep a random non-empty subset of the objects as
    targets, relabelled 1..m, the others becoming unlabelled background: XMem's training
    samples a subset of a video's objects too, so that a target is what the first frame's
    mask says, and other objects, however salient, are not."""
    if num_objects < 2 or rng.random() >= p:
        return masks, num_objects
    keep = sorted(rng.choice(np.arange(1, num_objects + 1), int(rng.integers(1, num_objects)), replace=False))
    lut = np.zeros(256, np.uint8)
    lut[keep] = np.arange(1, len(keep) + 1)
    return lut[masks], len(keep)


def background_photos() -> list[np.ndarray]:
    """Real photos to paste objects over: gradio's bundled media (if installed) and judo frames."""
    from ..video import open_video

    photos = []
    spec = importlib.util.find_spec("gradio")
    if spec is not None and spec.origin is not None:
        folder = Path(spec.origin).parent / "media_assets" / "images"
        for path in sorted(folder.glob("*.jp*g")):
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is not None:
                photos.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    with open_video(EXAMPLE_CLIP) as video:
        photos += [video.get(i) for i in range(0, (len(video) + 1) // 2, 10)]
    return photos


def _random_affine(rng: np.random.Generator, src_hw: tuple[int, int], size: int, zoom: float,
                   around: np.ndarray) -> np.ndarray:
    """A 2 x 3 matrix mapping the source image onto a size x size frame around a random centre
    near `around` (x, y: the objects' centre, so that they stay in view)."""
    h, w = src_hw
    scale = size / min(h, w) * zoom * rng.uniform(0.8, 1.25)
    angle = rng.uniform(-20, 20)
    centre = around + rng.uniform(-0.15, 0.15, 2) * min(h, w) / zoom
    m = cv2.getRotationMatrix2D(tuple(centre), angle, scale)
    m[0, 1] += rng.uniform(-0.1, 0.1) * scale  # shear
    m[:, 2] += size / 2 - centre  # the chosen centre to the frame's centre
    return m


def static_image_clip(
    rng: np.random.Generator, source: MaskedImage, backgrounds: list[np.ndarray], size: int, num_frames: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """One clip (frames T x S x S x 3 uint8, masks T x S x S, number of objects) from a masked image."""
    image, mask = source.image, source.mask
    num_objects = int(mask.max())
    if backgrounds and rng.random() < 0.5:  # paste the objects over another real photo
        bg = backgrounds[int(rng.integers(len(backgrounds)))]
        bg = cv2.resize(bg, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
        soft = cv2.GaussianBlur((mask > 0).astype(np.float32), (5, 5), 0)[..., None]
        image = (image * soft + bg * (1 - soft)).astype(np.uint8)
    ys, xs = np.nonzero(mask)
    around = np.array([xs.mean(), ys.mean()]) if len(xs) else np.array([image.shape[1] / 2, image.shape[0] / 2])
    # > 1: the frame shows part of the image, objects larger; small objects get closer
    zoom = rng.uniform(1.0, 2.5) * (1.0 if len(xs) > 0.02 * mask.size else rng.uniform(1.0, 2.0))
    start, end = (_random_affine(rng, image.shape[:2], size, zoom, around) for _ in range(2))
    gain = rng.uniform(0.8, 1.2, 3)
    flip = rng.random() < 0.5
    frames = np.zeros((num_frames, size, size, 3), np.uint8)
    masks = np.zeros((num_frames, size, size), np.uint8)
    for t in range(num_frames):
        a = t / max(num_frames - 1, 1)
        m = (1 - a) * start + a * end
        m[:, 2] += rng.normal(0, 1.5, 2)  # hand-held jitter
        frame = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        label = cv2.warpAffine(mask, m, (size, size), flags=cv2.INTER_NEAREST, borderValue=0)
        frame = np.clip(frame * gain + rng.normal(0, 2, frame.shape), 0, 255).astype(np.uint8)
        frames[t], masks[t] = (frame[:, ::-1], label[:, ::-1]) if flip else (frame, label)
    return frames, masks, num_objects


__all__ = ["MaskedImage", "shipped_masked_frames", "background_photos", "static_image_clip", "keep_some_targets"]
