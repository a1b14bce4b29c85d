"""The synthetic video generator: deterministic, random access, and a real tracking problem."""

from __future__ import annotations

import numpy as np
import pytest

from xmem_demo.synthetic import (
    BENCHMARK_SEED_BASE, MIN_VISIBLE_FRACTION, SyntheticClip, SyntheticConfig, check_training_seed, make_clip,
    training_batch,
)

SMALL = dict(height=64, width=80, num_frames=60)


def test_deterministic_and_seed_dependent():
    a, b, c = make_clip(3, **SMALL), make_clip(3, **SMALL), make_clip(4, **SMALL)
    for t in (0, 17, 59):
        fa, ma = a.frame(t)
        fb, mb = b.frame(t)
        assert np.array_equal(fa, fb) and np.array_equal(ma, mb)
    assert not np.array_equal(a.frame(10)[0], c.frame(10)[0])


def test_random_access_equals_iteration():
    clip = make_clip(5, **SMALL)
    frames, masks = clip.arrays()
    assert frames.shape == (60, 64, 80, 3) and frames.dtype == np.uint8
    assert masks.shape == (60, 64, 80) and masks.dtype == np.uint8
    for t in (0, 31, 59):
        f, m = clip.frame(t)
        assert np.array_equal(f, frames[t]) and np.array_equal(m, masks[t])
    with pytest.raises(IndexError):
        clip.frame(60)


def test_labels_and_every_target_visible_at_start():
    for seed in range(8):
        clip = make_clip(seed, **SMALL)
        _, mask = clip.frame(0)
        k = clip.num_objects
        assert 1 <= k <= 3
        assert set(np.unique(mask).tolist()) <= set(range(k + 1))
        for label in range(1, k + 1):
            assert (mask == label).sum() >= MIN_VISIBLE_FRACTION * mask.size


def presence(clip, label):
    return np.array([(clip.frame(t)[1] == label).any() for t in range(clip.num_frames)])


def test_objects_leave_and_come_back():
    found = False
    for seed in range(10):
        clip = make_clip(seed, height=64, width=64, num_frames=100)
        for label in range(1, clip.num_objects + 1):
            seen = presence(clip, label)
            gone = np.flatnonzero(~seen)
            if len(gone) and seen[gone[-1] + 1 :].any():
                found = True
    assert found, "no target ever left the frame and came back"


def test_occlusion_reduces_visible_area():
    found = False
    for seed in range(6):
        clip = make_clip(seed, height=64, width=64, num_frames=100, num_objects=3, num_distractors=(2, 2),
                         leave_and_reenter=False)
        areas = np.array([[(clip.frame(t)[1] == k).sum() for k in range(1, 4)] for t in range(100)])
        # Partly hidden: visible but less than a third of its typical area.
        typical = np.median(areas, 0)
        found |= bool(((areas > 0) & (areas < typical / 3)).any())
    assert found


def test_distractors_look_alike_but_are_never_labelled():
    clip = make_clip(2, num_objects=1, num_distractors=(2, 2), **SMALL)
    frames, masks = clip.arrays()
    assert set(np.unique(masks).tolist()) <= {0, 1}
    plain = make_clip(2, num_objects=1, num_distractors=(0, 0), **SMALL)
    # The distractors change the picture (they are drawn) but not the labels' count range.
    assert not np.array_equal(frames, plain.arrays()[0])


def test_long_clip_random_access_is_bounded():
    clip = SyntheticClip(7, SyntheticConfig(height=48, width=48, num_frames=10_000))
    f, m = clip.frame(9_999)
    assert f.shape == (48, 48, 3) and m.shape == (48, 48)


def test_training_batch_and_held_out_seeds():
    frames, masks, counts = training_batch(np.random.default_rng(0), 3, 5, 48, 64)
    assert frames.shape == (3, 5, 48, 64, 3) and masks.shape == (3, 5, 48, 64)
    assert ((1 <= counts) & (counts <= 3)).all()
    for b in range(3):
        assert set(np.unique(masks[b, 0]).tolist()) >= set(range(1, counts[b] + 1))
    with pytest.raises(ValueError, match="not a training seed"):
        check_training_seed(BENCHMARK_SEED_BASE)
