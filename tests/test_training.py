"""Training: resumable runs, the curriculum and real-texture compositing, seed ranges kept apart."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xmem_demo import synthetic
from xmem_demo.training.data import CURRICULUM, RealTextures, curriculum_batch, stage_at
from xmem_demo.training.train import TrainConfig, Trainer

TINY = dict(batch_size=1, num_frames=3, num_ref_frames=2, p_real_texture=0.5, steps=10)


def test_seed_ranges_are_disjoint():
    """No training seed, nor make_clip's re-drawn layout of one, reaches validation or benchmark clips."""
    max_training_layout = (synthetic.TRAINING_SEED_LIMIT - 1) * 64 + 49
    assert max_training_layout < synthetic.VALIDATION_SEED_BASE
    first_validation_layout = synthetic.VALIDATION_SEED_BASE * 64
    assert first_validation_layout > synthetic.BENCHMARK_SEED_BASE + 10_000
    assert 999_999 * 64 + 49 < synthetic.BENCHMARK_SEED_BASE * 64  # validation re-draws stay below the benchmark's
    with pytest.raises(ValueError, match="not a training seed"):
        synthetic.check_training_seed(synthetic.TRAINING_SEED_LIMIT)


def test_retexture_keeps_masks_and_changes_images():
    textures = RealTextures([np.full((40, 60, 3), v, np.uint8) for v in (30, 200)])
    plain = synthetic.make_clip(3, height=64, width=64, num_frames=5)
    pasted = synthetic.make_clip(3, height=64, width=64, num_frames=5).retexture(np.random.default_rng(0), textures, 1.0, 1.0)
    for t in (0, 4):
        (f0, m0), (f1, m1) = plain.frame(t), pasted.frame(t)
        assert (m0 == m1).all()
        assert np.abs(f0.astype(int) - f1.astype(int)).mean() > 10
    untouched = synthetic.make_clip(3, height=64, width=64, num_frames=5).retexture(np.random.default_rng(0), textures, 0.0, 0.0)
    assert (untouched.frame(2)[0] == plain.frame(2)[0]).all()


def test_curriculum_gets_harder():
    assert [s.start for s in CURRICULUM] == sorted(s.start for s in CURRICULUM) and CURRICULUM[0].start == 0
    first, last = stage_at(0), stage_at(10**9)
    assert first.num_distractors == (0, 0) and first.exit_prob == 0
    assert last.num_distractors[1] > 0 and last.exit_prob > 0 and max(last.sizes) > max(first.sizes)
    frames, masks, counts = curriculum_batch(np.random.default_rng(1), 0, 2, 3)
    assert frames.shape == (2, 3, 96, 96, 3) and masks.shape == (2, 3, 96, 96) and (counts >= 1).all()


def test_training_resumes_exactly(tmp_path):
    """Save after 2 steps, resume: the next step equals the uninterrupted run's (model, optimiser, RNGs)."""
    torch.set_num_threads(1)
    trainer = Trainer(TrainConfig(**TINY))
    trainer.textures = RealTextures([np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)])
    for _ in range(2):
        trainer.step()
    path = tmp_path / "state.pth"
    trainer.save(path)
    resumed = Trainer.resume(path)
    resumed.textures = trainer.textures
    assert resumed.steps_done == 2 and resumed.sched.last_epoch == trainer.sched.last_epoch
    a, b = trainer.step(), resumed.step()
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
    for (name, p), (_, q) in zip(trainer.model.named_parameters(), resumed.model.named_parameters()):
        assert torch.allclose(p, q, atol=1e-6), name
    exported = tmp_path / "mini.pth"
    trainer.export(exported)
    from xmem_demo.checkpoint import load_model_with_info

    _model, info = load_model_with_info(exported)
    assert "NOT the official XMem" in info.model_card


def test_committed_run_loads(tmp_path):
    """training_runs/mini-cpu/state.pth (the CPU run later sessions continue) is a complete training state."""
    import json
    from pathlib import Path

    from xmem_demo.config import ModelConfig
    from xmem_demo.model import XMem
    from xmem_demo.training.state import read_state

    path = Path(__file__).resolve().parents[1] / "training_runs" / "mini-cpu" / "state.pth"
    state = read_state(path)
    assert state["steps_done"] > 0 and state["train_seconds"] > 0
    curve = [json.loads(c) for c in state["curve"]]
    assert curve and all(0 <= p["val_J&F"] <= 1 for p in curve)
    model = XMem(ModelConfig.from_dict(state["model_config"]))
    model.load_state_dict(state["state_dict"])
    assert {"state", "param_groups"} <= set(state["optimizer"])
    with pytest.raises(ValueError, match="not an xmem-demo training state"):
        torch.save({"format": "something else"}, tmp_path / "other.pth")
        read_state(tmp_path / "other.pth")
