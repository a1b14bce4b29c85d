"""What ConsolidationEvent / ForgettingEvent record about potentiation and ties, checked against
a recomputation from the definitions (Sec. 3.4), on hand-made tensors and on a short session."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from xmem_demo.memory import LongTermMemory, WorkingMemory
from xmem_demo.memory.long_term import POTENTIATION_TOP
from xmem_demo.memory.working import Candidates
from xmem_demo.records import tie_report

from .support import small_memory_run

CK, CV = 4, 3


def candidates(n: int, usage: torch.Tensor, hw: int, seed: int = 1, later_group: int | None = None) -> Candidates:
    """n candidates over n / hw frames starting at frame 3; optionally a second group with values
    for only the last `later_group` of them (an object added later)."""
    g = torch.Generator().manual_seed(seed)
    key, sel = torch.randn(CK, n, generator=g), torch.rand(CK, n, generator=g)
    shrinkage = 1 + torch.rand(1, n, generator=g)
    values = [torch.randn(1, CV, n, generator=g)]
    if later_group is not None:
        values.append(torch.randn(2, CV, later_group, generator=g))
    wm = WorkingMemory(count_usage=True)
    wm.append(key, shrinkage, sel, values, 3 * hw + torch.arange(n))
    wm.use_count = usage.clone()
    wm.life_count = torch.ones(n)
    kinds = ["full"] + (["partial"] if later_group is not None else [])
    return Candidates(wm.slice(0, n), values, kinds, frame_size=hw, working_size_before=n, working_size_after=0)


def definition_weights(c: Candidates, prototypes: list[int]) -> torch.Tensor:
    """w_ij = softmax_i S(k_i, q_j), Eq. 3 written out per element in float64 (N x P)."""
    k, s, e = c.elements.key.double(), c.elements.shrinkage.double(), c.elements.selection.double()
    q, qe = k[:, prototypes], e[:, prototypes]
    similarity = -(qe[:, None, :] * (k[:, :, None] - q[:, None, :]) ** 2).sum(0) * s.T / math.sqrt(CK)
    return torch.softmax(similarity, dim=0)


def test_potentiation_record_matches_the_definition():
    n, hw, p = 40, 10, 5
    c = candidates(n, torch.rand(40, generator=torch.Generator().manual_seed(7)), hw)
    lt = LongTermMemory(count_usage=True)
    event = lt.consolidate(c, num_prototypes=p).to_host()
    w = definition_weights(c, event.prototype_indices).numpy()  # N x P
    m = min(POTENTIATION_TOP, n)
    assert event.potentiation_indices.shape == (p, m) and event.potentiation_weights.shape == (p, m)
    for j in range(p):
        order = np.argsort(-w[:, j])[:m]
        np.testing.assert_array_equal(event.potentiation_indices[j], order)
        np.testing.assert_allclose(event.potentiation_weights[j], w[order, j], rtol=1e-4, atol=1e-6)
        assert event.potentiation_effective[j] == pytest.approx(1 / (w[:, j] ** 2).sum(), rel=1e-4)
        # A prototype's own candidate is its largest weight: S(k_j, k_j) = 0 >= every other S.
        assert event.potentiation_indices[j, 0] == event.prototype_indices[j]
    # Origins: (frame, pixel) of the candidates, frames 3.. here.
    origin = 3 * hw + event.potentiation_indices
    np.testing.assert_array_equal(event.potentiation_origins[..., 0], origin // hw)
    np.testing.assert_array_equal(event.potentiation_origins[..., 1], origin % hw)
    # The recorded weights are the ones that made the prototype's value: sum_i w_ij v_i.
    values = c.group_values[0][0].double().numpy()  # CV x N
    np.testing.assert_allclose(lt.values[0][0].numpy(), values @ w, rtol=1e-4, atol=1e-5)
    # And the top m alone rebuild it up to the weight they leave out.
    for j in range(p):
        top = values[:, event.potentiation_indices[j]] @ event.potentiation_weights[j]
        left_out = 1 - event.potentiation_weights[j].sum()
        assert np.abs(top - lt.values[0][0, :, j].numpy()).max() <= left_out * np.abs(values).max() + 1e-5


def test_potentiation_record_stays_on_the_device_until_to_host():
    c = candidates(20, torch.rand(20), hw=10)
    event = LongTermMemory(count_usage=True).consolidate(c, num_prototypes=3)
    for name in ("potentiation_indices", "potentiation_weights", "potentiation_origins", "potentiation_effective"):
        assert isinstance(getattr(event, name), torch.Tensor), name
        assert isinstance(getattr(event.to_host(), name), np.ndarray), name


def test_potentiation_record_with_a_group_that_joined_later():
    # Group 1 has values for the last 12 of 30 candidates; group 0 (recorded) for all of them.
    n, hw = 30, 10
    usage = torch.zeros(n)
    usage[[2, 25, 28]] = torch.tensor([3.0, 2.0, 1.0])
    c = candidates(n, usage, hw, later_group=12)
    lt = LongTermMemory(count_usage=True)
    event = lt.consolidate(c, num_prototypes=3).to_host()
    assert event.valid_prototypes == [3, 2]  # candidate 2 is outside group 1's values
    w = definition_weights(c, event.prototype_indices).numpy()
    for j in range(3):
        np.testing.assert_array_equal(event.potentiation_indices[j], np.argsort(-w[:, j])[:POTENTIATION_TOP])


def test_tie_report_counts_ties_at_the_threshold():
    # Usage 1.0 for 6 candidates, P = 4: the threshold is 1.0, 6 tie, and 2 prototypes come
    # from the tie (two candidates are above it).
    usage = torch.tensor([0.0, 1.0, 3.0, 1.0, 0.0, 1.0, 2.0, 1.0, 0.5, 1.0, 1.0, 0.0])
    event = LongTermMemory(count_usage=True).consolidate(candidates(12, usage, hw=6), num_prototypes=4).to_host()
    assert event.threshold_usage == 1.0
    assert event.tied_at_threshold == 6 and event.chosen_from_tie == 2
    assert event.zero_usage == 3
    assert event.usage_margin == 0.0
    # No tie: the threshold candidate is the only one with its usage.
    distinct = LongTermMemory(count_usage=True).consolidate(candidates(12, torch.arange(12.0), hw=6), num_prototypes=4)
    distinct = distinct.to_host()
    assert distinct.threshold_usage == 8.0 and distinct.tied_at_threshold == 1 and distinct.chosen_from_tie == 1


def test_forgetting_reports_why_more_went_than_requested():
    lt = LongTermMemory(count_usage=True)
    lt.append(torch.randn(CK, 8), torch.ones(1, 8), None, [torch.randn(1, CV, 8)], torch.arange(8))
    lt.use_count = torch.tensor([5.0, 1.0, 3.0, 1.0, 4.0, 6.0, 1.0, 0.5])
    lt.life_count = torch.ones(8)
    event = lt.forget(target_size=6).to_host()  # asks for 2; 0.5 and then three tied at 1.0
    assert (event.requested, event.removed) == (2, 4)
    assert event.threshold_usage == 1.0 and event.tied_at_threshold == 3
    assert event.removed_beyond_request == 2
    fifo = LongTermMemory(count_usage=False)
    fifo.append(torch.randn(CK, 8), torch.ones(1, 8), None, [torch.randn(1, CV, 8)], torch.arange(8))
    event = fifo.forget_oldest(target_size=6).to_host()
    assert event.threshold_usage is None and event.tied_at_threshold == 0 and event.removed_beyond_request == 0
    assert fifo.origin.tolist() == [2, 3, 4, 5, 6, 7]  # first in, first out


def test_session_events_carry_the_record(tiny_model):
    """A real session: the hook's events hold host arrays that agree with each other."""
    records = small_memory_run(tiny_model, 10, (40, 56), np.s_[5:20, 10:30], seed=0)[2]
    events = [r.consolidation for r in records if r.consolidation]
    assert events and any(r.forgetting for r in records)
    for e in events:
        p = len(e.prototype_indices)
        assert e.potentiation_weights.shape[0] == p and (np.diff(e.potentiation_weights, axis=1) <= 0).all()
        assert (e.potentiation_weights.sum(1) <= 1 + 1e-5).all()
        assert ((1 <= e.potentiation_effective) & (e.potentiation_effective <= e.num_candidates + 1e-3)).all()
        np.testing.assert_array_equal(e.potentiation_indices[:, 0], e.prototype_indices)
        origins = np.array(e.prototype_origins)
        np.testing.assert_array_equal(e.potentiation_origins[:, 0], origins)
    for r in records:
        if r.forgetting:
            f = r.forgetting
            assert f.origins.shape == (f.long_term_size_before, 2)
            assert set(f.origins[:, 0]) <= {o[0] for e in events for o in e.prototype_origins}
    rows = tie_report(records)
    assert [row["frame"] for row in rows if row["event"] == "consolidation"] == [r.index for r in records if r.consolidation]
    for row in rows:
        assert row["tied"] >= 1
        if row["event"] == "forgetting":
            assert row["removed"] - row["requested"] == row["removed_beyond_request"] <= row["tied"] - 1
        else:
            assert 1 <= row["chosen_from_tie"] <= row["tied"]


def test_forgetting_records_the_origins_of_what_it_removed():
    hw = 10
    lt = LongTermMemory(count_usage=True)
    event = lt.consolidate(candidates(30, torch.arange(30.0), hw), num_prototypes=6)  # prototypes 29..24
    lt.use_count = torch.tensor([5.0, 1.0, 3.0, 0.5, 4.0, 6.0])
    lt.life_count = torch.ones(6)
    origins_before = [(int(f), int(p)) for f, p in event.to_host().prototype_origins]
    forgetting = lt.forget(target_size=4).to_host()
    assert [tuple(o) for o in forgetting.origins] == origins_before
    assert [tuple(o) for o in forgetting.origins[~forgetting.kept]] == [origins_before[1], origins_before[3]]
    assert (lt.origin // hw).tolist() == [f for (f, _), k in zip(origins_before, forgetting.kept) if k]
