"""The bundled mini model: it loads, is labelled, and actually tracks (held-out synthetic clips)."""

from __future__ import annotations

import numpy as np

from xmem_demo import MemoryConfig
from xmem_demo.training.evaluate import BenchmarkSpec, evaluate, make_clip, repeat_first_mask_baseline
from xmem_demo.weights import MINI_PATH, resolve_model


def test_mini_is_small_and_labelled():
    assert MINI_PATH.stat().st_size < 15 * 2**20
    model, notice = resolve_model("mini")
    assert "NOT the official XMem weights" in notice
    assert "NOT the official XMem weights" in model.model_card


def test_mini_tracks_better_than_repeating_the_first_mask():
    """A CI-sized subset of the held-out benchmark (the full one: 20 clips x 100 frames).

    A broken tracker, or one that only repeats the first-frame mask, scores the baseline;
    the mini model must beat it clearly.
    """
    model, _ = resolve_model("mini")
    spec = BenchmarkSpec(clips=3, frames=30)
    result = evaluate(model, spec, MemoryConfig(), verbose=False)["summary"]
    baseline = np.mean([repeat_first_mask_baseline(make_clip(s, spec)) for s in spec.seeds()])
    assert result["J&F"] >= baseline + 0.1, (result["J&F"], baseline)
