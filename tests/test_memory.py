"""Unit tests of the memory tiers, on hand-made tensors (no network)."""

from __future__ import annotations

import math

import pytest
import torch

from xmem_demo.config import MemoryConfig
from xmem_demo.memory import LongTermMemory, MemoryManager, WorkingMemory, anisotropic_l2, topk_softmax
from xmem_demo.memory.working import Candidates

CK, CV, HW = 4, 3, 6


def frame(seed: int, objects: int = 1):
    g = torch.Generator().manual_seed(seed)
    key = torch.randn(CK, HW, generator=g)
    shrinkage = 1 + torch.rand(1, HW, generator=g)
    selection = torch.rand(CK, HW, generator=g)
    values = torch.randn(objects, CV, HW, generator=g)
    return key, shrinkage, selection, values


def test_anisotropic_l2_matches_definition():
    g = torch.Generator().manual_seed(0)
    mk, qk = torch.randn(CK, 5, generator=g), torch.randn(CK, 7, generator=g)
    ms, qe = 1 + torch.rand(1, 5, generator=g), torch.rand(CK, 7, generator=g)
    direct = -(qe[:, None, :] * (mk[:, :, None] - qk[:, None, :]) ** 2).sum(0) * ms.T / math.sqrt(CK)
    torch.testing.assert_close(anisotropic_l2(mk, ms, qk, qe), direct, rtol=1e-5, atol=1e-5)


def test_topk_softmax_keeps_k_and_normalises():
    sim = torch.randn(50, 8)
    aff = topk_softmax(sim, 5)
    assert ((aff > 0).sum(0) == 5).all()
    torch.testing.assert_close(aff.sum(0), torch.ones(8))
    # The kept entries are the 5 largest of each column.
    top = torch.topk(sim, 5, dim=0).indices
    assert torch.equal(torch.sort(top, 0).values, torch.sort(torch.nonzero(aff.T)[:, 1].view(8, 5).T, 0).values)


def test_topk_softmax_survives_very_negative_similarities():
    sim = torch.full((10, 2), -500.0)
    sim[3, 0] = -400.0
    aff = topk_softmax(sim, 3)
    assert torch.isfinite(aff).all()
    assert aff[3, 0] == pytest.approx(1.0)


def test_working_memory_full_at_tmax_and_candidates():
    wm = WorkingMemory(count_usage=True)
    for t in range(4):
        k, s, e, v = frame(t)
        wm.add_frame(k, s, e, [v], frame_index=t)
        assert not wm.is_full(5)
    wm.add_frame(*frame(4)[:3], [frame(4)[3]], frame_index=4)
    assert wm.is_full(5)
    cands = wm.take_candidates(min_frames=2)
    # All but the first frame and the newest T_min - 1 = 1 frame.
    assert cands.elements.key.shape[-1] == 3 * HW
    assert cands.group_kinds == ["full"]
    assert wm.size == 2 * HW
    assert (wm.origin // HW).tolist() == [0] * HW + [4] * HW


def test_usage_is_use_over_life():
    wm = WorkingMemory(count_usage=True)
    wm.add_frame(*frame(0)[:3], [frame(0)[3]], frame_index=0)
    wm.record_usage(torch.full((HW,), 2.0))
    wm.record_usage(torch.full((HW,), 1.0))
    torch.testing.assert_close(wm.usage(), torch.full((HW,), 3.0 / (2 + 1e-7)))
    wm.add_frame(*frame(1)[:3], [frame(1)[3]], frame_index=1)
    assert wm.use_count[HW:].eq(0).all() and wm.life_count[HW:].eq(1e-7).all()


def make_candidates(n: int, usage: torch.Tensor, values: torch.Tensor | None = None) -> Candidates:
    wm = WorkingMemory(count_usage=True)
    g = torch.Generator().manual_seed(1)
    key, sel = torch.randn(CK, n, generator=g), torch.rand(CK, n, generator=g)
    vals = values if values is not None else torch.randn(1, CV, n, generator=g)
    wm.append(key, torch.ones(1, n), sel, [vals], torch.arange(n))
    wm.use_count = usage.clone()
    wm.life_count = torch.ones(n)
    return Candidates(wm.slice(0, n), [vals], ["full"], frame_size=n, working_size_before=n, working_size_after=0)


def test_prototypes_are_the_most_used_candidates():
    usage = torch.tensor([0.1, 0.9, 0.3, 0.8, 0.2, 0.7])
    cands = make_candidates(6, usage)
    lt = LongTermMemory(count_usage=True)
    result = lt.consolidate(cands, num_prototypes=3)
    assert result.prototype_indices.tolist() == [1, 3, 5]
    torch.testing.assert_close(lt.key, cands.elements.key[:, [1, 3, 5]])
    assert result.usage_margin == pytest.approx(0.7 - 0.3)
    assert lt.size == 3 and lt.use_count.eq(0).all()


def test_potentiation_is_a_weighted_average_of_candidates():
    # If every candidate holds the same value, every prototype must read out exactly it.
    values = torch.full((1, CV, 6), 2.5)
    cands = make_candidates(6, torch.rand(6), values)
    lt = LongTermMemory(count_usage=True)
    lt.consolidate(cands, num_prototypes=4)
    torch.testing.assert_close(lt.values[0], torch.full((1, CV, 4), 2.5))
    torch.testing.assert_close(lt.shrinkage, torch.ones(1, 4))  # candidates all had s = 1


def test_forgetting_drops_least_used_and_ties():
    lt = LongTermMemory(count_usage=True)
    lt.append(torch.randn(CK, 6), torch.ones(1, 6), None, [torch.randn(1, CV, 6)], torch.arange(6))
    lt.use_count = torch.tensor([5.0, 1.0, 3.0, 1.0, 4.0, 6.0])
    lt.life_count = torch.ones(6)
    result = lt.forget(target_size=5)  # asks for 1 removal; two elements tie at usage 1
    assert result.requested == 1 and result.removed == 2
    assert lt.use_count.tolist() == [5.0, 3.0, 4.0, 6.0]
    assert lt.origin.tolist() == [0, 2, 4, 5]


def test_forgetting_keeps_later_groups_aligned():
    lt = LongTermMemory(count_usage=True)
    lt.append(torch.randn(CK, 4), torch.ones(1, 4), None, [torch.randn(1, CV, 4)], torch.arange(4))
    lt.append(torch.randn(CK, 2), torch.ones(1, 2), None, [torch.randn(1, CV, 2), torch.arange(2.0).view(1, 1, 2).expand(1, CV, 2)], torch.arange(4, 6))
    lt.use_count = torch.tensor([0.0, 5.0, 5.0, 5.0, 0.5, 5.0])
    lt.life_count = torch.ones(6)
    lt.forget(target_size=4)
    assert lt.group_sizes == [4, 1]
    assert lt.values[1][0, 0].tolist() == [1.0]  # the group-1 value of the surviving key


@pytest.mark.parametrize("frames", [200])
def test_manager_memory_stays_bounded(frames):
    cfg = MemoryConfig(mem_every=1, min_mid_term_frames=2, max_mid_term_frames=4, num_prototypes=5, max_long_term_elements=23)
    mgr = MemoryManager(cfg, hidden_dim=2, count_long_term_usage=True)
    mgr.add_objects(1, torch.zeros(1, CK, 2, 3))
    consolidations = forgettings = 0
    for t in range(frames):
        k, s, e, v = frame(t)
        if t:
            readout, _ = mgr.read(k.view(1, CK, 2, 3), e.view(1, CK, 2, 3))
            assert readout.shape == (1, 1, CV, 2, 3)
        events = mgr.write(k.view(1, CK, 2, 3), s.view(1, 1, 2, 3), e.view(1, CK, 2, 3), v.view(1, 1, CV, 2, 3), t)
        consolidations += events.consolidation is not None
        forgettings += events.forgetting is not None
        assert mgr.working.size <= cfg.max_mid_term_frames * HW
        assert mgr.long_term.size <= cfg.max_long_term_elements
    assert consolidations > 50 and forgettings > 10


def test_read_for_later_group_uses_only_its_keys():
    cfg = MemoryConfig(mem_every=1, enable_long_term=False)
    mgr = MemoryManager(cfg, hidden_dim=2, count_long_term_usage=False)
    like = torch.zeros(1, CK, 2, 3)
    mgr.add_objects(1, like)
    k0, s0, e0, v0 = frame(0)
    mgr.write(k0.view(1, CK, 2, 3), s0.view(1, 1, 2, 3), None, v0.view(1, 1, CV, 2, 3), 0)
    mgr.add_objects(2, like)
    k1, s1, e1, v1 = frame(1, objects=2)
    mgr.write(k1.view(1, CK, 2, 3), s1.view(1, 1, 2, 3), None, v1.view(1, 2, CV, 2, 3), 1)
    assert mgr.working.group_sizes == [2 * HW, HW]
    out, _ = mgr.read(k1.view(1, CK, 2, 3), e1.view(1, CK, 2, 3))
    # Object 2 only has frame-1 values: its readout is a convex combination of them.
    aff = topk_softmax(anisotropic_l2(k1, s1, k1, e1), cfg.top_k)
    torch.testing.assert_close(out[0, 1].flatten(1), v1[1] @ aff)


def _random_write(mgr: MemoryManager, g: torch.Generator, t: int, objects: int) -> None:
    key = torch.randn(1, CK, 2, 3, generator=g)
    shrinkage = 1 + torch.rand(1, 1, 2, 3, generator=g)
    selection = torch.rand(1, CK, 2, 3, generator=g)
    values = torch.randn(1, objects, CV, 2, 3, generator=g)
    mgr.write(key, shrinkage, selection, values, t)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_read_equals_reference_read(seed):
    """MemoryManager.read (fast_read.py) == read_reference (similarity.read_memory, the paper's
    definition), readout and usage, on random memories with long-term memory (consolidated and
    forgotten) and object groups that joined later (frames 4 and 13)."""
    g = torch.Generator().manual_seed(seed)
    top_k = int(torch.randint(3, 12, (1,), generator=g))
    cfg = MemoryConfig(mem_every=1, min_mid_term_frames=2, max_mid_term_frames=4, num_prototypes=5,
                       max_long_term_elements=23, top_k=top_k)
    mgr = MemoryManager(cfg, hidden_dim=2, count_long_term_usage=True)
    like = torch.zeros(1, CK, 2, 3)
    joins = {0: 1, 4: 3, 13: 4}  # frame -> objects in total from then on
    objects, checked = 0, 0
    for t in range(30):
        if t:
            qk, qe = torch.randn(1, CK, 2, 3, generator=g), torch.rand(1, CK, 2, 3, generator=g)
            expected, usage = mgr.read_reference(qk, qe)
            n_lt = mgr.long_term.size
            lt_before, wm_before = mgr.long_term.use_count.clone() if n_lt else None, mgr.working.use_count.clone()
            got, _ = mgr.read(qk, qe)
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(mgr.working.use_count - wm_before, usage[n_lt:], rtol=1e-5, atol=1e-5)
            if n_lt:
                torch.testing.assert_close(mgr.long_term.use_count - lt_before, usage[:n_lt], rtol=1e-5, atol=1e-5)
                checked += len(mgr.long_term.group_sizes) > 1 and mgr.long_term.group_sizes[-1] > 0
        if t in joins:  # as in a session step: read, then add the annotated objects, then write
            objects = joins[t]
            mgr.add_objects(objects, like)
        _random_write(mgr, g, t, objects)
    assert checked > 0  # long-term memory held values of a later group while being read


def test_gathered_readout_equals_csr_readout():
    """The two arrangements of the sparse readout (CSR product / gathered rows) agree."""
    from xmem_demo.memory.fast_read import _csr_readout, _gathered_readout

    g = torch.Generator().manual_seed(0)
    tiers = [(torch.randn(7, 5, generator=g), 0), (torch.randn(11, 5, generator=g), 7)]
    indices = torch.stack([torch.randperm(18, generator=g)[:4] for _ in range(9)])
    weights = torch.softmax(torch.randn(9, 4, generator=g), 1)
    torch.testing.assert_close(_gathered_readout(weights, indices, tiers, max_bytes=64),
                               _csr_readout(weights, indices, tiers), rtol=1e-5, atol=1e-6)


def test_take_candidates_group_kinds_with_the_official_off_by_one():
    """Groups joining at frames 0, 4, 5, 6 of 8; T_min = 2 -> a later group needs MORE than
    (T_min + 1) frames to hand values over, but loses them with exactly that many."""
    wm = WorkingMemory(count_usage=True)
    joins = [0, 4, 5, 6]
    for t in range(8):
        k, s, e, _ = frame(t)
        groups = [torch.full((1, CV, HW), float(g)) for g, j in enumerate(joins) if j <= t]
        wm.add_frame(k, s, e, groups, frame_index=t)
    assert wm.group_sizes == [8 * HW, 4 * HW, 3 * HW, 2 * HW]
    cands = wm.take_candidates(min_frames=2)
    assert cands.group_kinds == ["full", "partial", "none_but_sieved", "none"]
    assert cands.elements.key.shape[-1] == 6 * HW
    assert [v is None for v in cands.group_values] == [False, False, True, True]
    assert cands.group_values[1].shape[-1] == 2 * HW and cands.first_with_values(1) == 4 * HW
    # none_but_sieved lost its middle frame; "none" kept everything.
    assert wm.group_sizes == [2 * HW, 2 * HW, 2 * HW, 2 * HW]
