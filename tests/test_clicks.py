"""Click-to-mask (xmem_demo.clicks): SAM 2.1 on a random-weight checkpoint in the official format,
the per-visitor embedding cache, refinement, candidates, boxes, undo, and the GrabCut fallback."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xmem_demo.clicks import Box, ClickSession, EmbeddingCache, GrabCutSegmenter, Prompt
from xmem_demo.clicks.sam2_model import SAM2_MODELS, ClickModelError, build_network, load_network

from .app_fixtures import disc_centre, make_frames
from .click_fixtures import TEST_IMAGE_SIZE

TINY = SAM2_MODELS["sam2.1-tiny"]


class P:
    def __init__(self, x, y, positive=True):
        self.x, self.y, self.positive = x, y, positive


def iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


def disc_mask(t: int) -> np.ndarray:
    import cv2

    mask = np.zeros((96, 128), np.uint8)
    cv2.circle(mask, disc_centre(t), 14, 1, thickness=-1)
    return mask.astype(bool)


def frame():
    return make_frames()[0]  # 96 x 128, a disc on a textured background


# ---- checkpoint format and loading ---------------------------------------------------------
def test_random_checkpoint_has_the_official_layout(sam2_checkpoint):
    blob = torch.load(sam2_checkpoint, map_location="cpu", weights_only=True)
    assert set(blob) == {"model"}
    expected = build_network(TINY).state_dict()
    assert list(blob["model"]) == list(expected)
    assert all(blob["model"][k].shape == v.shape for k, v in expected.items())
    assert sum(v.numel() for v in blob["model"].values()) > 38_000_000  # hiera-tiny: 39 M parameters


def test_bad_checkpoints_get_specific_errors(sam2_checkpoint, tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ClickModelError, match="not a readable checkpoint"):
        load_network(TINY, garbage)
    flat = tmp_path / "flat.pt"
    torch.save({"weights": torch.zeros(1)}, flat)
    with pytest.raises(ClickModelError, match="expected a dict with a 'model' state_dict"):
        load_network(TINY, flat)
    blob = torch.load(sam2_checkpoint, map_location="cpu", weights_only=True)
    blob["model"].pop("no_mem_embed")
    torch.save(blob, tmp_path / "short.pt")
    with pytest.raises(ClickModelError, match="1 missing keys.*no_mem_embed"):
        load_network(TINY, tmp_path / "short.pt")
    with pytest.raises(ClickModelError, match="not found"):
        load_network(TINY, tmp_path / "absent.pt")


# ---- one embedding per frame, one decode per click -----------------------------------------
def test_second_click_reuses_the_embedding(sam2_segmenter):
    seg = sam2_segmenter
    calls = {"encoder": 0}
    original = seg.network.forward_image

    def counted(x):
        calls["encoder"] += 1
        return original(x)

    seg.network.forward_image = counted
    try:
        session = ClickSession()
        img = frame()
        clicks = [P(*disc_centre(0))]
        first = session.step(seg, img, ("clip", 0), 0, 1, clicks)
        assert len(first.masks) == 3 and first.masks[0].shape == img.shape[:2]  # one click: 3 candidates
        assert first.logits[0].shape == (TEST_IMAGE_SIZE // 4, TEST_IMAGE_SIZE // 4)
        clicks.append(P(5, 5, False))
        second = session.step(seg, img, ("clip", 0), 0, 1, clicks)
        assert len(second.masks) == 1  # several clicks are not ambiguous: one mask
        assert calls["encoder"] == 1 and session.cache.computed == 1 and session.cache.reused == 1
        assert session.decodes == 2
        # The second click refined the first prediction: its mask prompt was the first's logits.
        rec = session.record(0, 1)
        assert rec.inputs[0] is None and np.array_equal(rec.inputs[1], first.logits[first.best])
        # A second object on the same frame reuses the embedding too; another frame computes one.
        session.step(seg, img, ("clip", 0), 0, 2, [P(10, 10)])
        session.step(seg, make_frames()[1], ("clip", 1), 1, 1, [P(10, 10)])
        assert calls["encoder"] == 2 and session.cache.computed == 2 and session.cache.reused == 2
    finally:
        seg.network.forward_image = original


def test_prior_mask_box_and_logits_change_the_prediction(sam2_segmenter):
    seg = sam2_segmenter
    emb = seg.embed(frame())
    click = [P(*disc_centre(0))]
    plain = seg.decode(emb, Prompt(clicks=click))
    prior = np.zeros((96, 128), bool)
    prior[10:60, 20:90] = True
    refined = seg.decode(emb, Prompt(clicks=click, prior_mask=prior))
    assert len(refined.masks) == 1
    assert not np.allclose(refined.logits[0], plain.logits[plain.best])
    logits = seg.prior_to_logits(prior)
    assert logits.shape == (TEST_IMAGE_SIZE // 4,) * 2 and set(np.unique(logits)) == {-10.0, 10.0}
    boxed = seg.decode(emb, Prompt(box=Box(20, 10, 90, 60)))
    assert len(boxed.masks) == 1 and boxed.masks[0].shape == (96, 128)
    assert not np.allclose(boxed.logits[0], plain.logits[plain.best])
    assert not seg.decode(emb, Prompt(clicks=[P(3, 3, False)])).mask.any()  # nothing to include


def test_candidates_undo_and_forget(sam2_segmenter):
    seg, session, img = sam2_segmenter, ClickSession(), frame()
    first = session.step(seg, img, "f0", 0, 1, [P(*disc_centre(0))])
    assert session.candidates(0, 1) == first.scores
    other = (first.best + 1) % 3
    assert np.array_equal(session.choose(0, 1, other), first.masks[other])
    assert np.array_equal(session.record(0, 1).out_logits, first.logits[other])  # the next click builds on it
    with pytest.raises(ValueError, match="does not exist"):
        session.choose(0, 1, 7)
    clicks = [P(*disc_centre(0)), P(5, 5, False)]
    after_two = session.step(seg, img, "f0", 0, 1, clicks)
    clicks.append(P(100, 80, True))
    session.step(seg, img, "f0", 0, 1, clicks)
    undone = session.undo(seg, img, "f0", 0, 1, clicks[:2])
    assert np.array_equal(undone.mask, after_two.mask)  # undo gives back exactly the previous mask
    session.forget(0)
    assert session.record(0, 1) is None and session.candidates(0, 1) == []


def test_embedding_cache_is_bounded_and_per_session():
    cache = EmbeddingCache(max_frames=2)
    for key in ("a", "b", "c"):
        cache.get_or_compute(key, lambda: object())
    assert len(cache) == 2 and "a" not in cache and cache.computed == 3
    cache.get_or_compute("c", lambda: object())
    assert cache.reused == 1
    assert ClickSession().cache is not ClickSession().cache


# ---- choosing the model ---------------------------------------------------------------------
def test_choice_follows_weights_and_environment(sam2_checkpoint, tmp_path, monkeypatch):
    from xmem_demo.clicks import choose_segmenter, resolve_click_model

    monkeypatch.setenv("XMEM_DEMO_CACHE", str(tmp_path))
    monkeypatch.delenv("XMEM_DEMO_CLICK_CHECKPOINT", raising=False)
    monkeypatch.delenv("XMEM_DEMO_CLICK_MODEL", raising=False)
    choice = resolve_click_model()
    assert choice.name == "grabcut" and "not downloaded" in choice.reason
    assert choose_segmenter().name == "grabcut" and "offline fallback" in choose_segmenter().label
    monkeypatch.setenv("XMEM_DEMO_CLICK_CHECKPOINT", str(sam2_checkpoint))
    monkeypatch.setenv("XMEM_DEMO_CLICK_IMAGE_SIZE", str(TEST_IMAGE_SIZE))
    seg = choose_segmenter()
    assert seg.name == "sam2" and "SAM 2.1" in seg.label and seg.image_size == TEST_IMAGE_SIZE
    assert choose_segmenter() is seg  # the network is loaded once per process
    monkeypatch.setenv("XMEM_DEMO_CLICK_MODEL", "grabcut")
    assert choose_segmenter().name == "grabcut"
    monkeypatch.setenv("XMEM_DEMO_CLICK_MODEL", "sam3-huge")
    with pytest.raises(ClickModelError, match="unknown click model 'sam3-huge'"):
        resolve_click_model()


# ---- GrabCut, the offline fallback ----------------------------------------------------------
def test_grabcut_box_and_prior_refinement():
    seg, img, truth = GrabCutSegmenter(), frame(), disc_mask(0)
    x, y = disc_centre(0)
    ys, xs = np.nonzero(truth)
    boxed = seg.predict(img, Prompt(box=Box(xs.min() - 4, ys.min() - 4, xs.max() + 4, ys.max() + 4))).mask
    assert iou(boxed, truth) > 0.8
    # A prior (e.g. a tracked mask) that spills over: one negative click outside the object trims it.
    spill = truth.copy()
    spill[:, : max(xs.min() - 2, 1)] = True
    trimmed = seg.predict(img, Prompt(clicks=[P(3, y, False)], prior_mask=spill)).mask
    assert iou(trimmed, truth) > iou(spill, truth) + 0.2
    assert seg.predict(img, Prompt(clicks=[P(3, 3, False)])).mask.sum() == 0


# ---- the app's click actions with SAM 2.1 ----------------------------------------------------
def test_app_actions_refine_box_candidates_and_tracked_prior(sam2_segmenter, app_env, app_examples, tmp_path):
    from xmem_demo.app.clip_tab import actions
    from xmem_demo.app.clip_tab.state import AppState, FrameEdit, cleanup_state, ensure_session_dir
    from xmem_demo.errors import UserError

    state = AppState()
    ensure_session_dir(state, f"clicks-{tmp_path.name}")
    try:
        actions.load_example(state, "tiny.mp4")
        seg = sam2_segmenter
        actions.add_click(state, *disc_centre(0), True, seg)
        assert len(state.clicks.candidates(0, 1)) == 3
        actions.choose_candidate(state, 2)
        assert np.array_equal(state.edits[0].objects[1].click_mask, state.clicks.last_prediction.masks[2])
        actions.add_click(state, 5, 5, False, seg)
        assert state.clicks.cache.computed == 1 and state.clicks.cache.reused == 1
        assert len(state.clicks.candidates(0, 1)) == 1  # a refined click gives one mask
        # Box in two clicks, for a second object on the same frame: still one embedding.
        actions.add_object(state)
        assert actions.add_box_corner(state, 10, 20, seg) is False
        assert actions.add_box_corner(state, 60, 70, seg) is True
        assert state.edits[0].objects[2].box == (10, 20, 60, 70) and state.clicks.cache.computed == 1
        actions.add_box_corner(state, 30, 30, seg)
        with pytest.raises(UserError, match="too close"):
            actions.add_box_corner(state, 31, 31, seg)
        # A frame whose mask came from elsewhere (here: an uploaded-like base): the first click refines it.
        base = np.zeros((96, 128), np.uint8)
        base[30:70, 40:100] = 1
        state.edits[4] = FrameEdit(base=base, base_source="result")
        actions.set_frame(state, 4)
        state.active = 1
        actions.add_click(state, 70, 50, True, seg)
        rec = state.clicks.record(4, 1)
        assert np.array_equal(rec.prior_mask, base == 1) and rec.inputs == [None]
        assert "refine the mask this object already had" in actions.click_note(state)
        assert "2 frame embedding(s) computed" in actions.click_note(state)
        actions.undo_click(state, seg)
        assert 1 not in state.edits.get(4, FrameEdit()).objects  # back to the tracked mask alone
    finally:
        cleanup_state(state)
