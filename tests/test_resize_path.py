"""The resize path (working size != frame size) against what the official eval.py does with --size.

The golden test feeds frames already at working size, so it never exercises this path. The
official code (hkchengrex/XMem, eval.py and inference/data/video_reader.py), restated here
without torchvision (which has no CPU build on this project's machines):

* image: `ToTensor`, `Normalize`, then `transforms.Resize(size, BILINEAR)` on the tensor:
  short side = size, long side = int(size * long / short) (truncated), bilinear,
  align_corners=False, antialiased (torchvision >= 0.17 antialiases tensors by default, as
  PIL always did). Resizing after normalising equals normalising after resizing: the
  interpolation weights sum to 1.
* mask: the MaskMapper's one-hot channels, then `VideoReader.resize_mask`: nearest, to
  (int(h / min_hw * size), int(w / min_hw * size)).
* probabilities: `F.interpolate(prob, original (h, w), mode="bilinear", align_corners=False)`.

Checked at several working sizes, shrinking and enlarging, with frame sizes whose long side
is not a whole number at the working size (where rounding and truncation differ).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from xmem_demo import InferenceSession, MemoryConfig
from xmem_demo.session import IMAGENET_MEAN, IMAGENET_STD
from xmem_demo.video import working_shape

MEAN = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
STD = torch.tensor(IMAGENET_STD).view(3, 1, 1)

# (frame h, frame w, working size): 170.88 -> 170 (round would give 171); 1366x768-like
# aspect (853.75 -> 853); portrait; enlarging (official resizes up too); exact aspect.
CASES = [(150, 267, 96), (96, 171, 64), (120, 80, 72), (60, 100, 90), (90, 160, 45), (77, 131, 112)]


def official_image_shape(h: int, w: int, size: int) -> tuple[int, int]:
    """torchvision's `_compute_resized_output_size` for an int size."""
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    return (new_long, new_short) if w <= h else (new_short, new_long)


def official_mask_shape(h: int, w: int, size: int) -> tuple[int, int]:
    """`VideoReader.resize_mask`."""
    min_hw = min(h, w)
    return int(h / min_hw * size), int(w / min_hw * size)


def official_image(frame: np.ndarray, size: int) -> torch.Tensor:
    rgb = torch.from_numpy(frame).permute(2, 0, 1).float() / 255
    rgb = (rgb - MEAN) / STD
    h, w = frame.shape[:2]
    return F.interpolate(rgb[None], official_image_shape(h, w, size), mode="bilinear", align_corners=False,
                         antialias=True)[0]


def official_mask(index_mask: np.ndarray, labels: list[int], size: int) -> torch.Tensor:
    onehot = torch.stack([torch.from_numpy(index_mask == lab) for lab in labels]).float()
    h, w = index_mask.shape
    return F.interpolate(onehot[None], official_mask_shape(h, w, size), mode="nearest")[0]


def scene(h: int, w: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A textured frame with two objects (sharp edges, so nearest vs bilinear shows)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    frame = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[((yy - h * 0.4) ** 2 / (h * 0.25) ** 2 + (xx - w * 0.3) ** 2 / (w * 0.2) ** 2) < 1] = 1
    mask[int(h * 0.55) : int(h * 0.9), int(w * 0.6) : int(w * 0.85)] = 3
    return frame, mask


@pytest.mark.parametrize("h,w,size", CASES)
def test_working_shape_is_the_official_one(h, w, size):
    assert working_shape(h, w, size) == official_image_shape(h, w, size) == official_mask_shape(h, w, size)


@pytest.mark.parametrize("h,w,size", CASES)
def test_image_and_mask_resized_as_official(tiny_model, h, w, size):
    frame, mask = scene(h, w)
    session = InferenceSession(tiny_model, MemoryConfig(), working_size=size)
    image = session._prepare_image(frame)
    want = official_image(frame, size)
    assert image.shape == want.shape
    assert torch.allclose(image, want, atol=2e-5), float((image - want).abs().max())
    onehot, labels = session.objects.annotate(mask, None, (h, w), tuple(image.shape[-2:]), session.device)
    assert labels == [1, 3]
    assert torch.equal(onehot, official_mask(mask, labels, size))


@pytest.mark.parametrize("h,w,size", CASES[:3] + CASES[3:4])
def test_probabilities_come_back_as_official(tiny_model, h, w, size):
    """Whole frames: ours with working_size on full frames == the official path, i.e. the same
    network on the officially resized frames and masks, its output upsampled bilinearly."""
    config = MemoryConfig(mem_every=2)
    frames, masks = zip(*(scene(h, w, seed) for seed in range(4)))
    ours = InferenceSession(tiny_model, config, working_size=size)
    reference = InferenceSession(tiny_model, config)  # fed tensors already at working size
    labels = [1, 3]
    for t, frame in enumerate(frames):
        end = t == len(frames) - 1
        given = masks[0] if t == 0 else None
        got = ours.step(frame, mask=given, end=end)
        image = official_image(frame, size)
        # The reference session normalises itself: give it the resized image in [0, 1].
        unnormalised = (image * STD + MEAN).permute(1, 2, 0).contiguous()
        ref_mask = official_mask(given, labels, size) if given is not None else None
        prob = reference.step(unnormalised, mask=ref_mask, objects=labels if given is not None else None, end=end)
        want = F.interpolate(prob[None], (h, w), mode="bilinear", align_corners=False)[0]
        assert got.shape == want.shape == (3, h, w)
        assert torch.allclose(got, want, atol=1e-4), (t, float((got - want).abs().max()))
