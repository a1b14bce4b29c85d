"""The memory read's counted cost (viz.elements_read, read_multiply_adds, read_cost_figure).

Notebook 05 makes its lesson (bounded memory, bounded cost per frame) a check on these
numbers instead of wall time, so they are held here against what the read really does: the
number of elements each probed query was compared with, and the multiply-adds PyTorch's own
FLOP counter sees in the similarity's matrix products.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch.utils.flop_counter import FlopCounterMode

from xmem_demo import viz
from xmem_demo.memory.fast_read import query_similarity
from xmem_demo.memory.similarity import anisotropic_l2

from .support import SMALL_MEMORY, small_memory_run

H, W = 48, 64  # 3 x 4 = 12 elements per memory frame
CONFIG = SMALL_MEMORY


@pytest.fixture(scope="module")
def records(tiny_model):
    """14 frames with consolidations and forgetting; every frame probed at two cells."""
    return small_memory_run(tiny_model, 14, (H, W), np.s_[8:30, 10:40], seed=1, probe=[(0, 0), (2, 3)])[2]


def test_elements_read_is_what_each_query_was_compared_with(records):
    n = viz.elements_read(records)
    assert n[0] == 0, "the annotated first frame reads no memory"
    assert any(r.consolidation for r in records) and any(r.forgetting for r in records)
    for t, r in enumerate(records[1:], start=1):
        assert r.segmented and r.affinity is not None
        # The probe's affinity has one column per memory element the read compared the query with.
        assert r.affinity.affinity.shape[1] == n[t], f"frame {t}"
    # ... which is what the previous step left, not what this step holds after its own writes.
    total = viz.series(records, "working_size") + viz.series(records, "long_term_size")
    assert list(n[1:]) == list(total[:-1])
    assert any(n[t] != total[t] for t in range(1, len(records)))


def test_elements_read_works_on_summaries_and_refuses_gaps(records):
    summaries = [r.summary() for r in records]
    assert list(viz.elements_read(summaries)) == list(viz.elements_read(records))
    with pytest.raises(ValueError, match="consecutive frames"):
        viz.elements_read(records[:3] + records[4:])
    assert len(viz.elements_read([])) == 0


@pytest.mark.parametrize("n", [1, 7, 300])
def test_multiply_adds_match_pytorchs_flop_counter(n):
    """The similarity's two matrix products (sum_c e k^2 and sum_c e k q), as counted by
    torch.utils.flop_counter (2 FLOPs per multiply-add) on the reference definition; the
    inference arrangement computes the same products (its second is an in-place addmm_, which
    the counter does not see) and is tested equal to it in test_memory.py. The readout term is
    HW min(k, N) C^v per object."""
    hw, ck, cv, k = 20, 16, 8, 5
    gen = torch.Generator().manual_seed(0)
    keys, shrinkage = torch.randn(ck, n, generator=gen), torch.rand(1, n, generator=gen)
    query, selection = torch.randn(ck, hw, generator=gen), torch.rand(ck, hw, generator=gen)
    with FlopCounterMode(display=False) as counter:
        reference = anisotropic_l2(keys, shrinkage, query, selection)
    counted = counter.get_total_flops() // 2
    similarity_only = viz.read_multiply_adds(n, hw, ck, cv, top_k=k) - hw * min(k, n) * cv
    assert counted == similarity_only == 2 * hw * n * ck
    fast = query_similarity(keys.T.contiguous(), shrinkage.T.contiguous(), query, selection)
    torch.testing.assert_close(fast, reference.T, rtol=1e-5, atol=1e-4)
    assert viz.read_multiply_adds(n, hw, ck, cv, top_k=k, num_objects=3) == 2 * hw * n * ck + 3 * hw * min(k, n) * cv


def test_read_cost_figure(records):
    fig = viz.read_cost_figure({"run": records, "short": records[:6], "empty": []}, hw=12, key_dim=64, value_dim=64,
                               top_k=30, length=40, bound=3 * 12 + 10, network_multiply_adds=5e6)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert any("extrapolated" in label for label in labels), "the short run is continued to `length`"
    assert any("bound" in label for label in labels) and any("as much as the network" in label for label in labels)
    assert viz.png_bytes(fig).startswith(b"\x89PNG"), "it renders (the right axis maps through the cost formula)"
