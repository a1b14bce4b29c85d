"""The bundled mini model: it loads, is labelled, and actually tracks (held-out synthetic clips)."""

from __future__ import annotations

import numpy as np

from xmem_demo import MemoryConfig
from xmem_demo.training.evaluate import BenchmarkSpec, evaluate, make_clip, repeat_first_mask_baseline
from xmem_demo.weights import MINI_PATH, resolve_model


def test_mini_is_small_and_labelled():
    assert MINI_PATH.stat().st_size < 15 * 2**20
    _model, info = resolve_model("mini")
    assert "NOT the official XMem weights" in info.notice
    assert "NOT the official XMem weights" in info.model_card
    assert info.label == "mini (not the official XMem)"


def test_cli_says_when_mini_runs(tmp_path, capsys):
    """`xmem-demo segment --weights mini` prints mini's notice and records it in summary.json."""
    import json

    from xmem_demo.video import write_index_mask

    from .support import Segment, run_cli, square_frames, square_mask, write_clip

    write_clip(tmp_path / "clip.mp4", square_frames(4))
    write_index_mask(tmp_path / "mask.png", square_mask())
    run = run_cli(Segment(weights="mini", extra=("--size", "-1")).argv(tmp_path), capsys)
    assert run.code == 0, run.err
    assert "NOT the official XMem weights" in run.err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["weights"] == "mini" and summary["official_weights"] is False
    assert summary["weights_file"] == str(MINI_PATH)


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
