"""xmem_demo.viz: figures from FrameRecords (right artists, no exceptions on empty input, geometry)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from xmem_demo import InferenceSession, MemoryConfig, RecordCollector, viz
from xmem_demo.geometry import FrameGeometry
from xmem_demo.records import AffinityProbe, ConsolidationEvent, ForgettingEvent
from xmem_demo.session import pad_to_multiple

from .support import SMALL_MEMORY, small_memory_run

H, W = 40, 56  # not multiples of 16: exercises the padding
CONFIG = SMALL_MEMORY


@pytest.fixture(scope="module")
def run(tiny_model):
    """A short session with consolidations and forgetting, every frame probed at two cells."""
    return small_memory_run(tiny_model, 12, (H, W), np.s_[5:20, 10:30], seed=0, probe=[(0, 0), (1, 2)])


def _lines(fig: Figure) -> list:
    return [line for ax in fig.axes for line in ax.get_lines() if not line.get_label().startswith("_")]


def _labels(fig: Figure) -> list[str]:
    return [line.get_label() for line in _lines(fig)]


def test_the_run_has_every_event(run):
    _, _, records = run
    assert any(r.consolidation for r in records) and any(r.forgetting for r in records)


# ---- geometry ---------------------------------------------------------------------------------
@pytest.mark.parametrize("hw,size", [((40, 56), None), ((186, 330), None), ((186, 330), 480), ((100, 70), 64)])
def test_grid_geometry_matches_the_session_padding(hw, size):
    geometry = FrameGeometry.for_frame(hw, size)
    rows, cols = viz.feature_grid_shape(hw, size)
    work = geometry.working_hw
    padded, pad = pad_to_multiple(torch.zeros(1, *work))
    assert (rows * 16, cols * 16) == tuple(padded.shape[-2:])
    left, _, top, _ = pad
    # Cell (0, 0) is centred 8 working pixels from the padded corner.
    y, x = geometry.grid_to_image(0, 0)
    scale = work[0] / hw[0]
    assert y == pytest.approx((8 - top) / scale) and x == pytest.approx((8 - left) / scale)
    # Round trip: every cell centre that lies inside the frame maps back to its cell.
    for r in range(rows):
        for c in range(cols):
            y, x = geometry.grid_to_image(r, c)
            if 0 <= y < hw[0] and 0 <= x < hw[1]:
                assert viz.image_to_grid(y, x, hw, size) == (r, c)
    assert viz.image_to_grid(-100, 10**6, hw, size) == (0, cols - 1)  # clamped


def test_rolling_median():
    x = np.arange(100.0)
    assert np.allclose(viz.rolling_median(x, 1), x)
    m = viz.rolling_median(x, 5)
    assert m.shape == x.shape and np.allclose(m[2:-2], x[2:-2])
    spikes = np.ones(500)
    spikes[::50] = 100
    assert np.allclose(viz.rolling_median(spikes, 11), 1)
    assert viz.rolling_median([], 5).size == 0


def test_series_accepts_records_and_summaries(run):
    _, _, records = run
    summaries = [r.summary() for r in records]
    assert (viz.series(records, "working_size") == viz.series(summaries, "working_size")).all()


# ---- figures ------------------------------------------------------------------------------------
def test_occupancy_figure_lines_events_and_bounds(run):
    _, _, records = run
    fig = viz.occupancy_figure(records, CONFIG, title="t")
    labels = _labels(fig)
    for expected in ("working memory", "long-term memory", "working + long-term", "consolidation"):
        assert expected in labels
    assert any(label.startswith("L_max = 10") for label in labels)
    assert any(label.startswith("T_max·HW") for label in labels)
    n_consolidations = sum(r.consolidation is not None for r in records)
    assert labels.count("consolidation") == 1  # one legend entry...
    ax = fig.axes[0]
    vlines = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
    assert len(vlines) == n_consolidations  # ...but one line per consolidation
    crosses = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(crosses) == 1 and len(crosses[0].get_offsets()) == sum(r.forgetting is not None for r in records)
    assert len(ax.get_lines()[0].get_xdata()) == len(records)


def test_occupancy_figure_bytes_summaries_and_empty(run):
    _, _, records = run
    fig = viz.occupancy_figure([r.summary() for r in records], unit="bytes")
    assert "sensory memory" in _labels(fig) and fig.axes[0].get_ylabel() == "memory (MiB)"
    empty = viz.occupancy_figure([], CONFIG)
    assert isinstance(empty, Figure) and not _lines(empty)


def test_occupancy_bound_far_above_is_named_not_drawn(run):
    _, _, records = run
    fig = viz.occupancy_figure(records, MemoryConfig())  # L_max = 10,000 >> the data
    assert any("L_max = 10000 (above the plot)" == label for label in _labels(fig))
    assert fig.axes[0].get_ylim()[1] < 10000


def test_usage_histogram_consolidation_and_forgetting(run):
    _, _, records = run
    event = next(r.consolidation for r in records if r.consolidation)
    fig = viz.usage_histogram(event)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"  # the default: the usage-0 bar would otherwise flatten the rest
    heights = [p.get_height() for p in ax.patches]
    # Two stacked series over the same bins: the counts add up to the candidates.
    assert sum(heights) == pytest.approx(event.num_candidates)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    tie = (f"threshold u = {event.threshold_usage:.4g}: {event.tied_at_threshold} tied, {event.chosen_from_tie} chosen"
           + (" (by topk's order)" if event.chosen_from_tie < event.tied_at_threshold else ""))
    zero = int((event.candidate_usage == 0).sum())
    assert legend == ["candidates not chosen", f"prototypes (P = {len(event.prototype_indices)})", tie,
                      f"usage exactly 0: {zero} of {event.num_candidates} ({zero / event.num_candidates:.0%})"]
    assert viz.usage_histogram(event, log_count=False).axes[0].get_yscale() == "linear"
    forgetting = next(r.forgetting for r in records if r.forgetting)
    fig = viz.usage_histogram(forgetting)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[:2] == ["kept", f"forgotten ({int((~forgetting.kept).sum())})"]
    assert legend[2].startswith(f"threshold u = {forgetting.threshold_usage:.4g}: {forgetting.tied_at_threshold} tied, all forgotten")
    assert isinstance(viz.usage_histogram(None), Figure)


def test_usage_histogram_marks_ties():
    # 6 candidates tie at the threshold usage 1.0 and 2 of them are chosen; forgetting asked for
    # 1 but 3 tie at the lowest usage, so 3 go.
    usage = np.array([0.0, 1.0, 3.0, 1.0, 0.0, 1.0, 2.0, 1.0, 0.5, 1.0, 1.0, 0.0])
    event = ConsolidationEvent(12, 0, 0, 4, 12, ["full"], [4], [2, 6, 1, 3], [(0, 2), (0, 6), (0, 1), (0, 3)], usage, 0.0)
    legend = [t.get_text() for t in viz.usage_histogram(event).axes[0].get_legend().get_texts()]
    assert "threshold u = 1: 6 tied, 2 chosen (by topk's order)" in legend
    assert "usage exactly 0: 3 of 12 (25%)" in legend
    forgetting = ForgettingEvent(5, 4, 1, 3, 0.0, np.array([0.1, 0.1, 0.1, 0.4, 0.5]), np.array([False, False, False, True, True]))
    legend = [t.get_text() for t in viz.usage_histogram(forgetting).axes[0].get_legend().get_texts()]
    assert "threshold u = 0.1: 3 tied, all forgotten (2 beyond the 1 requested)" in legend


def test_usage_histogram_degenerate_events():
    event = ConsolidationEvent(3, 1, 0, 1, 0, [], [], [], [], np.zeros(0), 0.0)
    assert isinstance(viz.usage_histogram(event), Figure)
    flat = ConsolidationEvent(3, 1, 0, 1, 2, [], [], [0], [(0, 0)], np.ones(2), 0.0)
    assert isinstance(viz.usage_histogram(flat), Figure)
    forgetting = ForgettingEvent(4, 2, 2, 2, 0.0, np.array([0.1, 0.2, 0.3, 0.4]), np.array([False, False, True, True]))
    assert isinstance(viz.usage_histogram(forgetting), Figure)


def _marks(fig: Figure) -> int:
    return sum(len(c.get_offsets()) for ax in fig.axes for c in ax.collections if isinstance(c, PathCollection))


def test_prototype_figure_marks_every_prototype(run):
    frames, _, records = run
    event = next(r.consolidation for r in records if r.consolidation)
    fig = viz.prototype_figure(event, frames, (H, W))  # by default every origin frame gets a panel
    assert _marks(fig) == len(event.prototype_origins)
    images = [a for ax in fig.axes for a in ax.get_images()]
    assert len(images) == len({f for f, _ in event.prototype_origins})
    # Markers sit on the frame.
    for ax in fig.axes:
        for c in ax.collections:
            if isinstance(c, PathCollection):
                xy = c.get_offsets()
                assert (xy[:, 0] > -8).all() and (xy[:, 0] < W + 8).all()
    empty = ConsolidationEvent(0, 0, 0, 0, 0, [], [], [], [], np.zeros(0), 0.0)
    assert isinstance(viz.prototype_figure(empty, frames, (H, W)), Figure)


def test_prototype_figure_shows_every_frame_or_says_what_it_leaves_out():
    # 11 prototypes on 6 frames (notebook 06 once titled "from 5 memory frames" over 4 panels).
    frames = np.zeros((8, H, W, 3), np.uint8)
    origins = [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (3, 0), (4, 0), (5, 0), (5, 1), (6, 0), (6, 1)]
    event = ConsolidationEvent(0, 0, 0, 11, 11, [], [], list(range(11)), origins, np.ones(11), 0.0)
    fig = viz.prototype_figure(event, frames, (H, W))
    assert len([a for ax in fig.axes for a in ax.get_images()]) == 6 and _marks(fig) == 11
    assert fig.get_suptitle() == "prototype origins: 11 prototypes from 6 memory frames"
    fig = viz.prototype_figure(event, frames, (H, W), max_frames=4)
    assert len([a for ax in fig.axes for a in ax.get_images()]) == 4 and _marks(fig) == 9  # frames 1, 2, 5, 6
    assert fig.get_suptitle().endswith("(showing 4 frames; 2 frames with 2 prototypes not shown)")


def test_potentiation_figure_shows_each_prototypes_mix(run):
    frames, _, records = run
    event = next(r.consolidation for r in records if r.consolidation)
    fig = viz.potentiation_figure(event, frames, (H, W), prototypes=[0, 1], top=3)
    rows = [ax for ax in fig.axes if ax.get_title().startswith("prototype ")]
    assert [ax.get_title().split(":")[0] for ax in rows] == ["prototype 0", "prototype 1"]
    own = [w for j in (0, 1) for i, w in zip(event.potentiation_indices[j], event.potentiation_weights[j])
           if i == event.prototype_indices[j]]
    assert [ax.get_title().endswith(f"own w = {w:.3g}") for ax, w in zip(rows, own)] == [True, True]
    # Each row's other panels: the record's largest nonzero weights of other candidates, in order.
    want = [[f"w = {w:.3g}\nframe {f}" for i, w, (f, _) in zip(event.potentiation_indices[j], event.potentiation_weights[j],
                                                                 event.potentiation_origins[j])
             if i != event.prototype_indices[j] and w > 0][:3] for j in (0, 1)]
    ncols = 1 + max(max(len(w) for w in want), 1)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 2 * ncols
    for j in (0, 1):
        row = titles[j * ncols + 1 : (j + 1) * ncols]
        assert row[: len(want[j])] == want[j] and not any(row[len(want[j]):])
    assert isinstance(viz.potentiation_figure(event, frames, (H, W)), Figure)  # default: the 3 most mixed
    bare = ConsolidationEvent(0, 0, 0, 1, 1, [], [], [0], [(0, 0)], np.ones(1), 0.0)
    with pytest.raises(ValueError, match="no potentiation record"):
        viz.potentiation_figure(bare, frames, (H, W))


def test_affinity_figure_panels_and_heat(run):
    frames, _, records = run
    record = records[-1]
    probe = record.affinity
    assert probe is not None and (probe.tier == 0).any()
    fig = viz.affinity_figure(probe, frames, record.index, (H, W), query=1, max_panels=3, top_k=CONFIG.top_k)
    image_axes = [ax for ax in fig.axes if ax.get_images()]
    assert len(image_axes) == 1 + min(3, len(np.unique(probe.origin_frame)))
    assert "top-k = 30" in fig._suptitle.get_text()
    # The heat maps together hold the working-memory share of the weight of the shown frames.
    heat = sum(float(np.ma.sum(im.get_array())) for ax in image_axes[1:] for im in ax.get_images()[1:])
    weights, tier, origin = probe.affinity[1], probe.tier, probe.origin_frame
    shown = sorted(np.unique(origin), key=lambda f: -weights[origin == f].sum())[:3]
    expected = sum(weights[(origin == f) & (tier == 1)].sum() for f in shown)
    assert heat == pytest.approx(expected, rel=1e-5)


def test_affinity_figure_without_probe():
    assert isinstance(viz.affinity_figure(None, [], 0, (H, W)), Figure)
    probe = AffinityProbe([(0, 0)], (3, 4), np.zeros((1, 0)), np.zeros(0, np.int8), np.zeros(0, int), np.zeros(0, int))
    assert isinstance(viz.affinity_figure(probe, [], 0, (H, W)), Figure)


def test_grid_maps_figure(run):
    frames, _, _ = run
    rows, cols = viz.feature_grid_shape((H, W))
    fig = viz.grid_maps_figure(frames[0], {"a": np.zeros((rows, cols)), "b": np.ones((rows, cols))},
                               marks={"b": [(0, 0), (1, 1)]})
    panels = [ax for ax in fig.axes if ax.get_images()]
    assert len(panels) == 2 and all(len(ax.get_images()) == 2 for ax in panels)
    assert sum(len(c.get_offsets()) for c in panels[1].collections) == 2
    assert not panels[0].collections
    assert isinstance(viz.grid_maps_figure(None, {}, (H, W)), Figure)


def test_overlay_and_strip(run):
    frames, masks, _ = run
    out = viz.overlay(frames[0], masks[0])
    assert out.shape == frames[0].shape and out.dtype == np.uint8
    fig = viz.overlay_strip(frames, masks, cols=4)
    images = [a for ax in fig.axes for a in ax.get_images()]
    assert len(images) == 4
    fig = viz.overlay_strip(lambda t: frames[t], {3: masks[3], 5: masks[5]}, indices=[3, 5], titles=["x", "y"])
    assert [ax.get_title() for ax in fig.axes if ax.get_images()] == ["x", "y"]
    assert isinstance(viz.overlay_strip(frames, [], indices=[]), Figure)


def test_time_metric_sweep_long_video_and_tier_figures(run):
    _, _, records = run
    fig = viz.time_figure({"a": records, "b": records[:5], "empty": []}, smooth=3)
    assert len(_lines(fig)) == 2  # one labelled (smoothed) line per non-empty run
    assert isinstance(viz.time_figure({}), Figure)

    fig = viz.metric_figure({"x": [1, 0.5, 0.7], "y": [1, 0.9, 0.8]}, marks={"memory frame": [0, 2]})
    assert _labels(fig) == ["x", "y", "memory frame"]
    assert isinstance(viz.metric_figure({}), Figure)

    fig = viz.sweep_figure([1, 2, 5], {"ms per frame": (np.array([30.0, 20, 10]), np.array([1.0, 1, 1])),
                                        "J&F": (np.array([0.8, 0.7, 0.6]), np.array([0.05, 0.05, 0.05]))}, "r")
    assert [ax.get_ylabel() for ax in fig.axes] == ["ms per frame", "J&F"]
    assert all(ax.get_xlabel() == "r" and ax.get_xscale() == "log" for ax in fig.axes)

    # A run stopped early is extrapolated (dotted) to the end of the video; the bound is drawn.
    fig = viz.long_video_memory_figure({"with": records, "without": records[:6]}, bound=123, length=len(records))
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels[:3] == ["with", "without", "without, extrapolated"] and "bound" in labels[3]
    projected = fig.axes[0].get_lines()[2]
    assert projected.get_linestyle() == ":" and list(projected.get_xdata()) == [6, len(records)]

    fig = viz.tiers_figure(records, CONFIG)
    assert len(fig.axes) == 2  # working and long-term memory each on its own axis


def test_figures_render(run, tmp_path):
    """Drawing (not just building) works for every figure type."""
    frames, masks, records = run
    event = next(r.consolidation for r in records if r.consolidation)
    figs = [
        viz.occupancy_figure(records, CONFIG),
        viz.usage_histogram(event),
        viz.prototype_figure(event, frames, (H, W)),
        viz.potentiation_figure(event, frames, (H, W)),
        viz.affinity_figure(records[-1].affinity, frames, records[-1].index, (H, W)),
        viz.overlay_strip(frames, masks),
        viz.long_video_memory_figure({"a": records}, bound=123, length=len(records)),
    ]
    for i, fig in enumerate(figs):
        fig.savefig(tmp_path / f"{i}.png")
        assert (tmp_path / f"{i}.png").stat().st_size > 1000


def test_png_bytes_for_image_widgets(run):
    _, _, records = run
    png = viz.png_bytes(viz.occupancy_figure(records, CONFIG), dpi=50)
    assert png.startswith(b"\x89PNG") and len(png) > 1000


def test_object_series_and_sensory_figure(tiny_model):
    """Objects added mid-video: NaN before they exist; deep updates marked in both panels."""
    rng = np.random.default_rng(1)
    clip = rng.integers(0, 256, (6, H, W, 3), dtype=np.uint8)
    first, second = np.zeros((H, W), np.uint8), np.zeros((H, W), np.uint8)
    first[2:14, 2:14] = 3
    second[20:32, 30:42] = 9
    session = InferenceSession(tiny_model, MemoryConfig(mem_every=3))
    records = RecordCollector()
    session.add_hook(records)
    for t, frame in enumerate(clip):
        session.step(frame, mask=first if t == 0 else second if t == 2 else None, end=t == 5)
    ids, norm = viz.object_series(records.records, "sensory_norm")
    assert ids == [3, 9] and norm.shape == (6, 2)
    assert np.isnan(norm[:2, 1]).all() and np.isfinite(norm[2:]).all() and np.isfinite(norm[:, 0]).all()
    # Summaries work too.
    ids_s, change_s = viz.object_series([r.summary() for r in records.records], "sensory_change")
    assert ids_s == ids and change_s[0, 0] == 0.0 and change_s[2, 1] == 0.0

    fig = viz.sensory_figure(records.records)
    norm_ax, change_ax = fig.axes[:2]
    deep = [r.index for r in records.records if r.deep_update]
    assert deep == [0, 2]  # mask frames; frame 5 would be next but is the end
    for ax in (norm_ax, change_ax):
        labelled = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
        assert labelled == ["object 3", "object 9", "deep update"]
        assert len(ax.get_lines()) == 2 + len(deep)
    assert "h" in norm_ax.get_ylabel() and change_ax.get_xlabel() == "frame t"
    assert isinstance(viz.sensory_figure([]), Figure)

    # The maps on the stride-16 grid, one colour scale for all panels.
    maps = {f"object {i}": m for i, m in zip(records.records[-1].object_ids, records.records[-1].sensory_map)}
    fig = viz.grid_maps_figure(clip[-1], maps, shared_scale=True)
    images = [ax.get_images()[-1] for ax in fig.axes if ax.get_images()]
    lo, hi = min(m.min() for m in maps.values()), max(m.max() for m in maps.values())
    assert len(images) == 2 and all(im.get_clim() == pytest.approx((lo, hi)) for im in images)
