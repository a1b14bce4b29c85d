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

    from xmem_demo.cli import main
    from xmem_demo.video import Mp4Writer, write_index_mask

    frames = np.full((4, 48, 64, 3), 40, np.uint8)
    for t in range(4):
        frames[t, 10:26, 4 + 3 * t : 20 + 3 * t] = (220, 60, 60)
    with Mp4Writer(tmp_path / "clip.mp4", fps=10) as writer:
        for frame in frames:
            writer.write(frame)
    mask = np.zeros((48, 64), np.uint8)
    mask[10:26, 4:20] = 1
    write_index_mask(tmp_path / "mask.png", mask)
    code = main(["segment", str(tmp_path / "clip.mp4"), "--mask", str(tmp_path / "mask.png"),
                 "--out", str(tmp_path / "out"), "--weights", "mini", "--size", "-1"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "NOT the official XMem weights" in err
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
