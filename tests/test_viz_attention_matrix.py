"""viz.attention_matrix / attention_matrix_figure: the whole query x memory matrix W of one frame
(rows and columns in the right order, tier and frame separators, clear errors for a probe that
is not of all cells)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from xmem_demo import InferenceSession, MemoryConfig, RecordCollector, viz
from xmem_demo.records import AffinityProbe

ROWS, COLS = 2, 3


def _probe(cells=None) -> AffinityProbe:
    """6 query cells (listed out of order) x 16 memory elements (listed out of order):
    4 long-term prototypes from frames 3 and 5, and working memory of frames 0 and 10 (6 each)."""
    cells = cells if cells is not None else [(1, 2), (0, 0), (1, 0), (0, 2), (0, 1), (1, 1)]
    tier = np.array([1] * 6 + [0, 0] + [1] * 6 + [0, 0], np.int8)
    frame = np.array([10] * 6 + [5, 3] + [0] * 6 + [3, 5])
    pixel = np.array([5, 4, 3, 2, 1, 0, 4, 1, 0, 1, 2, 3, 4, 5, 2, 0])
    rng = np.random.default_rng(0)
    affinity = np.zeros((len(cells), len(tier)))
    for i in range(len(cells)):
        used = rng.choice(len(tier), 3, replace=False)
        w = rng.random(3) + 1e-6
        affinity[i, used] = w / w.sum()
    return AffinityProbe(list(cells), (ROWS, COLS), affinity, tier, frame, pixel)


def test_rows_are_cells_in_reading_order_and_columns_group_by_tier_then_frame():
    probe = _probe()
    m = viz.attention_matrix(probe)
    assert m.weights.shape == (ROWS * COLS, 16)
    assert [probe.query_pixels[i] for i in m.query_order] == [(r, c) for r in range(ROWS) for c in range(COLS)]
    # long-term (tier 0) first, then working; by origin frame within a tier; by grid cell within a frame
    assert m.groups == [(0, 3, 0, 2), (0, 5, 2, 4), (1, 0, 4, 10), (1, 10, 10, 16)]
    assert list(probe.origin_pixel[m.element_order][4:10]) == [0, 1, 2, 3, 4, 5]
    assert np.array_equal(m.weights, probe.affinity[np.ix_(m.query_order, m.element_order)])
    assert m.query_split is None
    np.testing.assert_allclose(m.weights.sum(1), 1.0)  # a permutation loses no weight


def test_marked_queries_come_first_and_marked_elements_first_within_their_frame():
    probe = _probe()
    query_on = np.zeros((ROWS, COLS), bool)
    query_on[1, 1] = query_on[0, 2] = True
    element_on = probe.origin_pixel == 3  # one element of frame 0, one of frame 10
    m = viz.attention_matrix(probe, query_on=query_on, element_on=element_on)
    assert m.query_split == 2
    assert [probe.query_pixels[i] for i in m.query_order[:2]] == [(0, 2), (1, 1)]
    ordered = probe.origin_pixel[m.element_order]
    assert ordered[4] == 3 and ordered[10] == 3  # first of frame 0's and of frame 10's columns
    assert m.groups == [(0, 3, 0, 2), (0, 5, 2, 4), (1, 0, 4, 10), (1, 10, 10, 16)]


def _panels(fig: Figure):
    """The matrix panels (the axes holding the scatter of non-zero weights), left to right."""
    return [ax for ax in fig.axes if any(isinstance(c, PathCollection) for c in ax.collections)]


def _vertical(ax) -> list[float]:
    return sorted(float(line.get_xdata()[0]) for line in ax.get_lines()
                  if len(set(np.ravel(line.get_xdata()))) == 1 and len(set(np.ravel(line.get_ydata()))) > 1)


def _horizontal(ax) -> list[float]:
    return [float(line.get_ydata()[0]) for line in ax.get_lines()
            if len(set(np.ravel(line.get_ydata()))) == 1 and len(set(np.ravel(line.get_xdata()))) > 1]


def test_figure_has_a_panel_per_tier_with_frame_separators_and_labels():
    probe = _probe()
    query_on = np.zeros(ROWS * COLS, bool)
    query_on[:2] = True
    fig = viz.attention_matrix_figure(probe, query_frame=12, query_on=query_on,
                                      element_on=probe.origin_pixel == 0, on_label="object", top_k=3)
    assert isinstance(fig, Figure)
    long_term, working = _panels(fig)
    assert long_term.get_xlim() == (0, 4) and working.get_xlim() == (4, 16)
    assert _vertical(long_term) == [2.0]  # between frames 3 and 5
    assert _vertical(working) == [10.0]  # between frames 0 and 10
    assert _horizontal(long_term) == [2.0] and _horizontal(working) == [2.0]  # under the marked queries
    titles = " ".join(ax.get_title() for ax in fig.axes)
    assert "long-term memory (prototypes): 4 elements" in titles and "working memory: 12 elements" in titles
    frame_labels = [t.get_text() for ax in fig.axes for t in ax.get_xticklabels() if t.get_text()]
    assert {"3", "5", "0", "10"} <= set(frame_labels)
    drawn = sum(len(c.get_offsets()) for ax in (long_term, working) for c in ax.collections)
    assert drawn == int((probe.affinity > 0).sum())  # every non-zero weight, none of the zeros
    assert isinstance(long_term.collections[0].norm, LogNorm)  # sparse weights visible
    assert "frame 12" in fig._suptitle.get_text() and "top k = 3" in fig._suptitle.get_text()


def test_working_memory_only_gives_one_panel():
    probe = _probe()
    keep = probe.tier == 1
    only_working = AffinityProbe(probe.query_pixels, probe.feature_shape, probe.affinity[:, keep],
                                 probe.tier[keep], probe.origin_frame[keep], probe.origin_pixel[keep])
    fig = viz.attention_matrix_figure(only_working)
    (panel,) = _panels(fig)
    assert _vertical(panel) == [6.0] and _horizontal(panel) == []


def test_refuses_none_and_probes_of_some_cells_with_a_clear_error():
    with pytest.raises(ValueError, match="no affinity probe.*set_probe"):
        viz.attention_matrix_figure(None)
    few = _probe(cells=[(0, 0), (1, 2)])
    few = AffinityProbe(few.query_pixels, few.feature_shape, few.affinity, few.tier, few.origin_frame, few.origin_pixel)
    with pytest.raises(ValueError, match=r"all 6 grid cells \(2 x 3\); this probe has 2 query cell"):
        viz.attention_matrix_figure(few)
    repeated = _probe(cells=[(0, 0)] * 6)
    with pytest.raises(ValueError, match="all 6 grid cells"):
        viz.attention_matrix(repeated)
    with pytest.raises(TypeError, match="expected an AffinityProbe"):
        viz.attention_matrix(np.zeros((6, 4)))
    with pytest.raises(ValueError, match="query_on has 5 values"):
        viz.attention_matrix(_probe(), query_on=np.ones(5, bool))
    with pytest.raises(ValueError, match="element_on has 3 values; the probe has 16"):
        viz.attention_matrix(_probe(), element_on=np.ones(3, bool))


def test_a_real_session_probed_at_all_cells(tiny_model):
    """From a session with long-term memory: every query's row sums to 1 and is drawn whole."""
    h, w = 40, 56
    config = MemoryConfig(mem_every=1, min_mid_term_frames=2, max_mid_term_frames=3, num_prototypes=4,
                          max_long_term_elements=10)
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (7, h, w, 3), dtype=np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[5:20, 10:30] = 1
    grid = viz.feature_grid_shape((h, w))
    cells = [(r, c) for r in range(grid[0]) for c in range(grid[1])]
    session = InferenceSession(tiny_model, config, num_frames=len(frames))
    records = RecordCollector()
    session.add_hook(records)
    session.set_probe(cells)
    for t, frame in enumerate(frames):
        session.step(frame, mask=mask if t == 0 else None, end=t == len(frames) - 1)
    probe = records.records[-1].affinity
    assert (probe.tier == 0).any() and (probe.tier == 1).any()
    m = viz.attention_matrix(probe)
    np.testing.assert_allclose(m.weights.sum(1), 1.0, atol=1e-5)
    assert [g[0] for g in m.groups] == sorted(g[0] for g in m.groups)
    fig = viz.attention_matrix_figure(probe, query_frame=6, top_k=config.top_k)
    assert len(_panels(fig)) == 2
    drawn = sum(len(c.get_offsets()) for ax in _panels(fig) for c in ax.collections)
    assert drawn == int((probe.affinity > 0).sum())
    with pytest.raises(ValueError, match="no affinity probe"):
        viz.attention_matrix(records.records[0].affinity)  # frame 0: given a mask, not segmented
