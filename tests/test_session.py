"""The per-frame protocol on a tiny random network: objects, labels, bad input, hooks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xmem_demo import InferenceSession, MaskError, MemoryConfig, RecordCollector
from xmem_demo.session import pad_to_multiple, unpad, uses_channels_last

H, W = 40, 56


def frames(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, H, W, 3), dtype=np.uint8)


def box_mask(label: int, r0: int, c0: int, size: int = 12) -> np.ndarray:
    m = np.zeros((H, W), np.uint8)
    m[r0 : r0 + size, c0 : c0 + size] = label
    return m


def test_padding_is_official_and_reversible():
    x = torch.randn(2, 185, 329)
    padded, pad = pad_to_multiple(x)
    assert padded.shape[-2:] == (192, 336) and pad == (3, 4, 3, 4)
    torch.testing.assert_close(unpad(padded, pad), x)


def test_objects_added_mid_video_and_label_mapping(tiny_model):
    session = InferenceSession(tiny_model, MemoryConfig(mem_every=2))
    records = RecordCollector()
    session.add_hook(records)
    clip = frames(8)
    for t in range(8):
        mask = box_mask(7, 2, 2) if t == 0 else box_mask(200, 20, 30) if t == 3 else None
        prob = session.step(clip[t], mask=mask, end=t == 7)
        assert prob.shape == (session.object_ids.__len__() + 1, H, W)
        torch.testing.assert_close(prob.sum(0), torch.ones(H, W), atol=1e-5, rtol=0)
    assert session.object_ids == [7, 200]
    rec = records.records
    assert [r.memory_frame for r in rec] == [True, False, True, True, False, True, False, False]
    # Object 200 joined at t=3: its group has values only from then on (right-aligned).
    hw = rec[-1].elements_per_frame
    assert rec[-1].working_group_sizes == [4 * hw, 2 * hw]
    assert rec[3].sensory_shape[1] == 2
    labels = set(np.unique(session.to_index_mask(prob)).tolist())
    assert labels <= {0, 7, 200}


def test_annotated_frame_returns_the_mask(tiny_model):
    session = InferenceSession(tiny_model)
    mask = box_mask(1, 5, 5)
    prob = session.step(frames(1)[0], mask=mask)
    np.testing.assert_array_equal(session.to_index_mask(prob), mask)


def test_frames_before_any_annotation_are_background(tiny_model):
    session = InferenceSession(tiny_model)
    prob = session.step(frames(1)[0])
    assert prob.shape == (1, H, W) and session.memory.is_empty


def test_working_size_resizes_inside_and_returns_input_size(tiny_model):
    session = InferenceSession(tiny_model, working_size=32)
    records = RecordCollector()
    session.add_hook(records)
    prob = session.step(frames(1)[0], mask=box_mask(1, 5, 5))
    prob = session.step(frames(2)[1])
    assert prob.shape == (2, H, W)
    assert records.records[0].elements_per_frame == 2 * 3  # 32x44 -> padded 32x48 -> 2x3


@pytest.mark.parametrize(
    "mask, message",
    [
        (np.zeros((H + 1, W), np.uint8), "mask is 41x56"),
        (np.zeros((2, 3, 4, 5), np.uint8), "mask must be H x W"),
        (np.zeros((H, W), np.float32) + 0.5, "integer labels"),
        (np.zeros((2, H, W), np.uint8), "needs `objects`"),
    ],
)
def test_bad_masks_are_refused_clearly(tiny_model, mask, message):
    session = InferenceSession(tiny_model)
    with pytest.raises(MaskError, match=message):
        session.step(frames(1)[0], mask=mask)


def test_stacked_mask_of_another_size_is_refused_by_the_same_check(tiny_model):
    session = InferenceSession(tiny_model)
    with pytest.raises(MaskError, match="mask is 41x56 but the frame is 40x56"):
        session.step(frames(1)[0], mask=np.zeros((1, H + 1, W), np.uint8), objects=[1])
    assert session.frame_index == -1  # nothing was counted


def test_bad_frame_is_refused(tiny_model):
    with pytest.raises(ValueError, match="H x W x 3"):
        InferenceSession(tiny_model).step(np.zeros((H, W), np.uint8))


def test_affinity_probe(tiny_model):
    session = InferenceSession(tiny_model, MemoryConfig(mem_every=1))
    records = RecordCollector()
    session.add_hook(records)
    session.set_probe([(1, 2)])
    clip = frames(3)
    session.step(clip[0], mask=box_mask(1, 5, 5))
    session.step(clip[1])
    session.step(clip[2])
    probe = records.records[2].affinity
    assert probe is not None and probe.affinity.shape == (1, records.records[2].working_size - records.records[2].elements_per_frame)
    assert probe.affinity.sum() == pytest.approx(1.0, abs=1e-5)
    assert set(probe.origin_frame.tolist()) == {0, 1}


def test_long_term_disabled_grows_working_memory(tiny_model):
    session = InferenceSession(tiny_model, MemoryConfig(mem_every=1, enable_long_term=False))
    records = RecordCollector()
    session.add_hook(records)
    clip = frames(14)
    for t in range(14):
        session.step(clip[t], mask=box_mask(1, 5, 5) if t == 0 else None)
    sizes = records.series("working_size")
    assert (np.diff(sizes) > 0).all() and records.records[-1].long_term_size == 0


def test_long_term_bounds_working_memory(tiny_model):
    cfg = MemoryConfig(mem_every=1, min_mid_term_frames=2, max_mid_term_frames=4, num_prototypes=3, max_long_term_elements=10)
    session = InferenceSession(tiny_model, cfg)
    records = RecordCollector()
    session.add_hook(records)
    clip = frames(30)
    for t in range(30):
        session.step(clip[t], mask=box_mask(1, 5, 5) if t == 0 else None)
    hw = records.records[0].elements_per_frame
    assert max(records.series("working_size")) < 4 * hw + 1
    assert max(records.series("long_term_size")) <= 10
    assert any(r.consolidation for r in records.records) and any(r.forgetting for r in records.records)


def test_deep_update_not_synchronised(tiny_model):
    session = InferenceSession(tiny_model, MemoryConfig(mem_every=2, deep_update_every=3))
    records = RecordCollector()
    session.add_hook(records)
    clip = frames(9)
    for t in range(9):
        session.step(clip[t], mask=box_mask(1, 5, 5) if t == 0 else None, end=t == 8)
    # Deep updates happen on memory frames once >= 3 frames passed since the last one.
    # memory frames 0, 2, 4, 6; 2 and 6 are fewer than 3 frames after the last deep update.
    assert [r.index for r in records.records if r.deep_update] == [0, 4]
    assert all(r.sensory_updated_by_decoder for r in records.records[1:-1])


def test_reduced_precision_autocast_stays_finite(tiny_model):
    """bf16 autocast (opt-in): aggregation runs in float32, so no inf/NaN from the 1 - 1e-7 clamp."""
    session = InferenceSession(tiny_model, MemoryConfig(mem_every=1), precision="bf16")
    clip = frames(5)
    for t in range(5):
        prob = session.step(clip[t], mask=box_mask(1, 5, 5) if t == 0 else None)
        assert prob.dtype == torch.float32 and torch.isfinite(prob).all()


def test_reduced_precision_keeps_memory_keys_in_float32(tiny_model):
    """bf16 mode: keys are compared in float32 (Eq. 3 cancels squared norms), values are bf16."""
    session = InferenceSession(tiny_model, MemoryConfig(mem_every=1), precision="bf16")
    clip = frames(4)
    for t in range(4):
        session.step(clip[t], mask=box_mask(1, 5, 5) if t == 0 else None)
    working = session.memory.working
    assert working.key.dtype == torch.float32 and working.shrinkage.dtype == torch.float32
    assert working.values[0].dtype == torch.bfloat16


def test_channels_last_gives_the_same_masks_and_leaves_the_model_alone(tiny_model):
    """channels_last only changes the layout of the convolutions, not the result; the session
    runs its own converted copy and never converts the caller's model in place."""
    clip = frames(6)
    outputs = []
    for channels_last in (False, True):
        model = type(tiny_model)(tiny_model.config).eval()
        model.load_state_dict(tiny_model.state_dict())
        session = InferenceSession(model, MemoryConfig(mem_every=2), channels_last=channels_last)
        outputs.append([session.step(f, mask=box_mask(1, 5, 5) if t == 0 else None) for t, f in enumerate(clip)])
        assert uses_channels_last(session.model) == channels_last
        assert not uses_channels_last(model)  # the caller's model: untouched
        assert session.model is not model  # the session's inference-only copy (model/inference.py)
    for a, b in zip(*outputs):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_load_model_stores_convolutions_channels_last_on_cpu(tmp_path, tiny_model):
    from xmem_demo import load_model, save_checkpoint

    save_checkpoint(tiny_model, tmp_path / "tiny.pth")
    assert uses_channels_last(load_model(tmp_path / "tiny.pth"))
    assert not uses_channels_last(load_model(tmp_path / "tiny.pth", channels_last=False))


def test_sensory_summary_follows_the_hidden_state(tiny_model):
    """FrameRecord.sensory_norm / sensory_change / sensory_map: one entry per object, computed
    from h after the step (checked here against the state itself), 0 change where there is
    no previous h."""
    session = InferenceSession(tiny_model, MemoryConfig(mem_every=2))
    records = RecordCollector()
    session.add_hook(records)
    states = []  # the test may read internals; notebooks use the record only
    session.add_hook(lambda r: states.append(None if session.memory.sensory.get() is None
                                             else session.memory.sensory.get()[0].float().clone()))
    clip = frames(8)
    for t in range(8):
        # No object on frame 0; object 7 from frame 1, object 200 from frame 4; t = 7 is the end.
        mask = box_mask(7, 2, 2) if t == 1 else box_mask(200, 20, 30) if t == 4 else None
        session.step(clip[t], mask=mask, end=t == 7)
    rec = records.records
    assert rec[0].sensory_norm == [] and rec[0].sensory_change == [] and rec[0].sensory_map is None
    rows, cols = rec[1].sensory_shape[-2:]
    for r, h in zip(rec[1:], states[1:]):
        k = r.num_objects
        assert len(r.sensory_norm) == len(r.sensory_change) == k == h.shape[0]
        assert r.sensory_map.shape == (k, rows, cols) and r.sensory_map.dtype == np.float32
        values = np.array(r.sensory_norm + r.sensory_change)
        assert np.isfinite(values).all() and (values >= 0).all() and (r.sensory_map >= 0).all()
        np.testing.assert_allclose(r.sensory_norm, h.abs().mean((1, 2, 3)).numpy(), rtol=1e-5)
        np.testing.assert_allclose(r.sensory_map.mean((1, 2)), r.sensory_norm, rtol=1e-5)
    assert [r.num_objects for r in rec] == [0, 1, 1, 1, 2, 2, 2, 2]
    assert rec[1].sensory_change == [0.0]  # the first frame with an object: nothing to compare with
    assert rec[4].sensory_change[1] == 0.0  # object 200 is new on frame 4
    for t in (2, 3, 4, 5, 6):
        old = min(states[t - 1].shape[0], states[t].shape[0])
        expected = (states[t][:old] - states[t - 1][:old]).abs().mean((1, 2, 3)).numpy()
        np.testing.assert_allclose(rec[t].sensory_change[:old], expected, rtol=1e-5, atol=1e-7)
    assert all(rec[t].sensory_change[0] > 0 for t in (2, 3, 4, 5, 6))  # decoder or deep update wrote h
    assert rec[7].sensory_change == [0.0, 0.0]  # the last frame (end=True) does not update h
    assert not rec[7].deep_update and not rec[7].sensory_updated_by_decoder


def test_sensory_summary_without_arrays_and_late_hook(tiny_model):
    session = InferenceSession(tiny_model, MemoryConfig(mem_every=2))
    clip = frames(4)
    session.step(clip[0], mask=box_mask(1, 5, 5))
    session.step(clip[1])
    records = RecordCollector(keep_arrays=False)
    session.add_hook(records)  # added mid-video: no previous h was recorded
    session.step(clip[2])
    session.step(clip[3])
    first, second = records.records
    assert first.sensory_change == [0.0] and second.sensory_change[0] > 0
    assert first.sensory_map is None and second.sensory_map is None  # arrays dropped
    summary = second.summary()
    assert summary["sensory_norm"] == second.sensory_norm and "sensory_map" not in summary
    import json

    json.dumps(summary)


def test_hooks_share_one_record_that_no_hook_changes(tiny_model):
    """A slim collector keeps a copy without arrays; a second hook still sees the arrays, and
    the events it receives are plain data (converted at the hook boundary)."""
    cfg = MemoryConfig(mem_every=1, min_mid_term_frames=1, max_mid_term_frames=2, num_prototypes=2,
                       max_long_term_elements=5)
    session = InferenceSession(tiny_model, cfg)
    slim, full = RecordCollector(keep_arrays=False), RecordCollector()
    session.add_hook(slim)
    session.add_hook(full)
    clip = frames(6)
    for t in range(6):
        session.step(clip[t], mask=box_mask(1, 5, 5) if t == 0 else None)
    assert all(r.sensory_map is None for r in slim.records)
    assert all(r.sensory_map is not None for r in full.records)
    events = [r.consolidation for r in full.records if r.consolidation] + [r.forgetting for r in full.records if r.forgetting]
    assert events and len(events) > 2
    for e in events:
        arrays = [e.candidate_usage] if hasattr(e, "candidate_usage") else [e.usage_before, e.kept]
        assert all(isinstance(a, np.ndarray) for a in arrays)
    c = next(r.consolidation for r in full.records if r.consolidation)
    assert isinstance(c.prototype_indices, list) and all(isinstance(o, tuple) for o in c.prototype_origins)


def test_the_session_never_changes_the_callers_training_mode(tiny_model):
    """The optimized session runs an eval-mode copy; optimize=False runs the model as given, so a
    model still in training mode (BatchNorm on batch statistics) is refused, not flipped."""
    model = type(tiny_model)(tiny_model.config)
    model.load_state_dict(tiny_model.state_dict())
    model.train()
    session = InferenceSession(model, MemoryConfig())
    assert model.training and not session.model.training
    with pytest.raises(ValueError, match=r"call model.eval\(\) first"):
        InferenceSession(model, MemoryConfig(), optimize=False)
    assert model.training
    model.eval()
    assert InferenceSession(model, MemoryConfig(), optimize=False).model is model


def test_sessions_share_one_inference_copy_per_model_and_layout(tiny_model):
    """session.inference_network is the one owner of the inference-only network: made once per
    model and layout, shared by every session (and so by track's two passes, and the app's
    visitors), never the caller's model; an inference copy is used as it is, and a layout it
    was not made with is refused instead of ignored."""
    from xmem_demo.errors import InputError
    from xmem_demo.pipeline import ArraySource, track

    a, b = InferenceSession(tiny_model, MemoryConfig()), InferenceSession(tiny_model, MemoryConfig())
    assert a.model is b.model and a.model is not tiny_model and a.model.inference_report is not None
    nchw = InferenceSession(tiny_model, MemoryConfig(), channels_last=False).model
    assert nchw is not a.model and not uses_channels_last(nchw)
    assert InferenceSession(a.model, MemoryConfig()).model is a.model  # already an inference copy

    from xmem_demo import session as session_module

    seen = []
    list(track(tiny_model, ArraySource(frames(3)), {1: box_mask(1, 5, 5)}, MemoryConfig(), working_size=-1,
               hooks=[lambda record: seen.append(record.geometry)]))
    assert len(seen) == 4  # both passes ran, each from the anchor (1, 2 forward; 1, 0 backward) ...
    # ... on the copy made above (float32 copies; a bf16 session of another test adds "auto/bf16")
    assert sorted(k for k in session_module._NETWORKS[tiny_model] if "/" not in k) == ["auto", "contiguous"]

    layout = a.model.inference_report.layout
    with pytest.raises(InputError, match="already an inference copy"):
        InferenceSession(a.model, MemoryConfig(), channels_last=layout != "channels_last")
