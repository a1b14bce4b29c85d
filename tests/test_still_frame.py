"""A frame that does not move keeps its mask: every bundled model, a synthetic and a real frame.

The same frame is fed 6 times through `InferenceSession`, its mask given on the first step
only; the mask predicted on steps 1..5 must overlap the given one with IoU >= STILL_IOU for
every object. Nothing moves, so a working tracker has no excuse: the first memory frame
matches the query pixel for pixel. A tracker that cannot hold a still frame will not hold a
moving one.

STILL_IOU = 0.8 is a loose bar on purpose (it tolerates soft object boundaries at the
stride-16 resolution of the memory). Every bundled model must hold the held-out synthetic
frames. The real judo frame is asked of the offline default, `lite` (ImageNet trunk): it is
what visitors and students run offline. The from-scratch `mini` keeps only 0.27 there
(measured with this test's code, native size 330x186, both fighters as one object): it never
saw a real image, which is why `lite` replaced it as the offline default (issue 19); its
still-frame failure on real video is stated in its model card, not hidden by a marker.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xmem_demo import InferenceSession, MemoryConfig, load_model
from xmem_demo.synthetic import make_clip
from xmem_demo.video import open_video, read_index_mask
from xmem_demo.resources import EXAMPLE_CLIP, EXAMPLE_MASK, LITE_WEIGHTS, MINI_WEIGHTS, TEACHING_WEIGHTS

STILL_IOU = 0.8
STEPS = 6

def bundled_models() -> list[Path]:
    """Every segmentation checkpoint shipped with the package (the folder of the mini model), not
    notebook 01's teaching network: it is shipped to show spread attention and labelled "not for
    segmentation" (its model card), so no still-frame bar applies to it."""
    return sorted(p for p in MINI_WEIGHTS.parent.glob("*.pth") if p.resolve() != TEACHING_WEIGHTS.resolve())


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


# (checkpoint file, seed) measured below the bar: IoU per step. Kept visible as strict xfails,
# so that a retrained file that holds the frame turns them into ordinary tests.
KNOWN_TO_DROP_SYNTHETIC_STILL_FRAME = {
    ("xmem-lite.pth", 1_000_007): "lite (2026-12-07) keeps 0.737 on this frame (a look-alike beside the target)",
}


@pytest.mark.parametrize("seed", [1_000_007, 1_000_011, 1_000_013])  # held-out synthetic seeds
def test_still_synthetic_frame_keeps_its_mask(bundled, seed, request):
    path, model = bundled
    known = KNOWN_TO_DROP_SYNTHETIC_STILL_FRAME.get((path.name, seed))
    if known is not None:
        request.applymarker(pytest.mark.xfail(strict=True, reason=known))
    frame, mask = make_clip(seed, height=240, width=320, num_frames=1, num_objects=1).frame(0)
    ious = still_frame_ious(model, frame, mask)
    assert ious[1:].min() >= STILL_IOU, f"IoU per step: {ious.min(1).round(3).tolist()}"


def test_still_real_frame_keeps_its_mask():
    """The offline default (what `auto` runs without the official weights) on a real frame."""
    model = load_model(LITE_WEIGHTS)
    with open_video(EXAMPLE_CLIP) as video:
        frame = video.get(0)
    mask = read_index_mask(EXAMPLE_MASK)
    ious = still_frame_ious(model, frame, mask)
    assert ious[1:].min() >= STILL_IOU, f"IoU per step: {ious.min(1).round(3).tolist()}"
