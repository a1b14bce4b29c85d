"""The notebooks' helper: attention spread, error bars, quick mode."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xmem_demo import lessons


def test_attention_summary_one_hot_and_uniform():
    one_hot = torch.zeros(50, 4)
    one_hot[3] = 1
    assert lessons.attention_summary(one_hot) == {"largest": 1.0, "effective": 1.0}
    uniform = torch.zeros(50, 4)
    uniform[:30] = 1 / 30
    spread = lessons.attention_summary(uniform)
    assert spread["largest"] == pytest.approx(1 / 30) and spread["effective"] == pytest.approx(30)


def test_mean_and_error():
    mean, err = lessons.mean_and_error(np.array([[1.0, 2.0], [3.0, 2.0]]))
    assert np.allclose(mean, [2.0, 2.0]) and np.allclose(err, [np.sqrt(2) / np.sqrt(2), 0.0])


def test_quick_mode_follows_the_environment(monkeypatch):
    monkeypatch.delenv(lessons.QUICK_ENV, raising=False)
    monkeypatch.delenv(lessons.MODE_ENV, raising=False)
    assert not lessons.quick()
    monkeypatch.setenv(lessons.QUICK_ENV, "1")
    assert lessons.quick()
    monkeypatch.delenv(lessons.QUICK_ENV)
    monkeypatch.setenv(lessons.MODE_ENV, "class")
    assert lessons.quick()


def test_mode_cell_runs_unless_the_environment_overrides_it_and_the_banner_says_which(monkeypatch):
    pytest.importorskip("IPython")
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj.data))
    monkeypatch.delenv(lessons.QUICK_ENV, raising=False)
    monkeypatch.delenv(lessons.MODE_ENV, raising=False)
    assert lessons.mode("class", class_runs="300 frames", full_runs="10,000 frames") == "class"
    assert "**Mode: class**" in shown[-1] and "300 frames ← running" in shown[-1] and 'MODE = "full"' in shown[-1]
    assert lessons.mode("Full", full_runs="10,000 frames") == "full"
    assert "10,000 frames ← running" in shown[-1] and "XMEM_NOTEBOOK_MODE" not in shown[-1]
    lessons.mode("class", class_runs="the clip", full_runs="the same: no long run here")
    assert 'MODE = "full"' not in shown[-1], "no invitation to a full mode that runs the same"
    monkeypatch.setenv(lessons.MODE_ENV, "full")
    assert lessons.mode("class") == "full"
    assert "set by XMEM_NOTEBOOK_MODE; the cell says 'class'" in shown[-1]
    with pytest.raises(ValueError, match="use one of class, full"):
        lessons.mode("fast")
    monkeypatch.setenv(lessons.MODE_ENV, "quick")
    with pytest.raises(ValueError, match="XMEM_NOTEBOOK_MODE='quick'"):
        lessons.mode("class")


def test_encode_key_sees_what_the_session_feeds_the_network(tiny_model, monkeypatch):
    """lessons.encode_key prepares a frame with `session.prepare`, as `InferenceSession.step` does."""
    from xmem_demo import InferenceSession, MemoryConfig

    frame = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    mask = np.zeros((40, 56), np.uint8)
    mask[10:20, 10:30] = 1
    seen = []
    session = InferenceSession(tiny_model, MemoryConfig())
    original = session.model.encode_key
    monkeypatch.setattr(session.model, "encode_key", lambda image, **kw: (seen.append(image.clone()), original(image, **kw))[1])
    session.step(frame, mask=mask)
    monkeypatch.undo()
    with torch.inference_mode():
        expected = tiny_model.encode_key(seen[0], need_shrinkage=True, need_selection=True)
    for ours, theirs in zip(lessons.encode_key(tiny_model, frame), expected[:3]):
        assert torch.allclose(ours, theirs[0], atol=1e-6)
