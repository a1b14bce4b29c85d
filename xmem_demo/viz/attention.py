"""Figures on the stride-16 feature grid: maps (s, e, h), the sensory memory over time, where a
query pixel attends in memory, and the whole query x memory attention matrix W of a frame (Sec. 3.3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..geometry import FrameGeometry
from ._common import _get, object_series, _index, _frame_getter, _geometry, LONG_TERM_COLOR, WORKING_COLOR, FrameGetter


# ---- maps on the feature grid ----------------------------------------------------------------------
def grid_maps_figure(
    frame: np.ndarray | None,
    maps: Mapping[str, np.ndarray],
    frame_hw: tuple[int, int] | None = None,
    working_size: int | None = None,
    marks: Mapping[str, Sequence[tuple[int, int]]] | None = None,
    cmap: str = "viridis",
    width: float = 12.0,
    shared_scale: bool = False,
    geometry: FrameGeometry | None = None,
) -> Figure:
    """One panel per grid-shaped map (e.g. shrinkage s, mean selection e), drawn over the frame.

    maps: title -> (rows x cols) array on the stride-16 grid. marks: title -> grid cells
    (row, col) to mark with a cyan cross on that panel. shared_scale: one colour scale
    (min to max over all maps) for every panel, so that panels compare by colour.
    """
    n = max(len(maps), 1)
    if geometry is not None:
        frame_hw = geometry.frame_hw
    if frame_hw is None:
        frame_hw = frame.shape[:2] if frame is not None else next(iter(maps.values())).shape
    geo = _geometry(frame_hw, working_size, geometry)
    aspect = frame_hw[0] / frame_hw[1]
    fig = Figure(figsize=(width, width / n * aspect + 0.9), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    scale: dict[str, float] = {}
    if shared_scale and maps:
        scale = dict(vmin=min(float(np.min(m)) for m in maps.values()),
                     vmax=max(float(np.max(m)) for m in maps.values()))
    for ax, (title, m) in zip(axes, maps.items()):
        m = np.asarray(m, dtype=float)
        if frame is not None:
            ax.imshow(frame)
        im = ax.imshow(m, cmap=cmap, alpha=0.7 if frame is not None else 1.0,
                       extent=geo.grid_extent(m.shape), interpolation="nearest", **scale)
        for row, col in (marks or {}).get(title, []):
            y, x = geo.grid_to_image(row, col)
            ax.scatter([x], [y], marker="+", s=160, color="cyan", linewidths=2.5)
        ax.set_xlim(-0.5, frame_hw[1] - 0.5)
        ax.set_ylim(frame_hw[0] - 0.5, -0.5)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
        fig.colorbar(im, ax=ax, shrink=0.7, orientation="horizontal", pad=0.02)
    if not maps:
        axes[0].axis("off")
    return fig


# ---- sensory memory ------------------------------------------------------------------------------
def sensory_figure(records: Sequence[Any], title: str | None = None, width: float = 9.0) -> Figure:
    """The per-object sensory memory h over time (FrameRecord.sensory_norm / sensory_change).

    Top: mean |h| per object. Bottom: mean |h_t - h_{t-1}| per object, how much each step
    rewrote h. Deep-update frames (the value encoder refreshed h) are dotted lines in both.
    """
    fig = Figure(figsize=(width, 5.0), layout="constrained")
    norm_ax, change_ax = fig.subplots(2, 1, sharex=True)
    x = _index(records)
    ids, norm = object_series(records, "sensory_norm")
    _, change = object_series(records, "sensory_change")
    for k, obj in enumerate(ids):
        norm_ax.plot(x, norm[:, k], color=f"C{k}", lw=1.5, label=f"object {obj}")
        change_ax.plot(x, change[:, k], color=f"C{k}", lw=1.2, marker=".", ms=4, label=f"object {obj}")
    deep = [int(_get(r, "index", i)) for i, r in enumerate(records) if _get(r, "deep_update")]
    for ax in (norm_ax, change_ax):
        for j, t in enumerate(deep):
            ax.axvline(t, color="0.5", lw=0.7, ls=":", zorder=0, label="deep update" if j == 0 else None)
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
    norm_ax.set_ylabel("mean |h|")
    change_ax.set_ylabel("mean |h_t − h_(t−1)|")
    change_ax.set_xlabel("frame t")
    norm_ax.set_title(title or "sensory memory h per object", fontsize=10)
    change_ax.set_title("change of h on each frame", fontsize=9)
    if len(records):
        change_ax.set_xlim(x[0], max(x[-1], x[0] + 1))
    if ids or deep:
        norm_ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return fig


# ---- attention of a query pixel --------------------------------------------------------------------
def affinity_figure(
    probe: Any,
    frames: Sequence[np.ndarray] | FrameGetter | Mapping[int, np.ndarray],
    query_frame: int,
    frame_hw: tuple[int, int] | None = None,
    query: int = 0,
    working_size: int | None = None,
    max_panels: int = 5,
    top_k: int | None = None,
    width: float = 13.0,
) -> Figure:
    """Where one query pixel attends in memory (after the top-k softmax, Eq. 3 and Sec. 3.3).

    Panel 1: the query frame with the query pixel. Then the memory frames that received
    the most attention: working-memory elements as a heat map over their frame,
    long-term prototypes as circles (area ~ weight) at the pixel they were built around.
    The probe's own geometry (`AffinityProbe.geometry`) places the grid on the frame; frame_hw
    and working_size are needed only for a probe without one.
    """
    get = _frame_getter(frames)
    geo = _geometry(frame_hw, working_size, getattr(probe, "geometry", None))
    frame_hw = geo.frame_hw
    if probe is None or probe.affinity.size == 0:
        panels = max_panels + 1
    else:
        w = np.asarray(probe.affinity[query])
        panels = min(max_panels, max(len(np.unique(np.asarray(probe.origin_frame)[w > 0])), 1)) + 1
    fig = Figure(figsize=(width, width / panels * frame_hw[0] / frame_hw[1] + 0.9), layout="constrained")
    if probe is None or probe.affinity.size == 0:
        ax = fig.add_subplot()
        ax.axis("off")
        ax.text(0.5, 0.5, "no affinity recorded (frame not segmented, or no probe set)", ha="center", va="center")
        return fig
    weights = np.asarray(probe.affinity[query], dtype=float)
    tier = np.asarray(probe.tier)
    origin_frame = np.asarray(probe.origin_frame)
    origin_pixel = np.asarray(probe.origin_pixel)
    grid = tuple(probe.feature_shape)
    mass = {int(f): float(weights[origin_frame == f].sum()) for f in np.unique(origin_frame)}
    # Frames that received attention, most first (at least one panel).
    ranked = sorted(mass, key=lambda f: -mass[f])
    shown = sorted([f for f in ranked[:max_panels] if mass[f] > 0] or ranked[:1])
    n = len(shown) + 1
    axes = fig.subplots(1, n, squeeze=False)[0]
    row, col = probe.query_pixels[query]
    qy, qx = geo.grid_to_image(row, col)
    image = get(query_frame)
    if image is not None:
        axes[0].imshow(image)
    axes[0].scatter([qx], [qy], marker="+", s=160, color="cyan", linewidths=2.5)
    axes[0].set_title(f"query: frame {query_frame}, cell ({row}, {col})", fontsize=9)
    vmax = max(float(weights.max()), 1e-12)
    extent = geo.grid_extent(grid)
    im = None
    for ax, f in zip(axes[1:], shown):
        image = get(f)
        if image is not None:
            ax.imshow(image)
        sel_wm = (origin_frame == f) & (tier == 1)
        if sel_wm.any():
            heat = np.zeros(grid[0] * grid[1])
            np.add.at(heat, origin_pixel[sel_wm], weights[sel_wm])
            im = ax.imshow(np.ma.masked_less_equal(heat.reshape(grid), 0), cmap="inferno", alpha=0.75,
                           vmin=0, vmax=vmax, extent=extent, interpolation="nearest")
        sel_lt = (origin_frame == f) & (tier == 0) & (weights > 0)
        if sel_lt.any():
            pix = origin_pixel[sel_lt]
            ys, xs = zip(*(geo.grid_to_image(p // grid[1], p % grid[1]) for p in pix))
            ax.scatter(xs, ys, s=20 + 400 * weights[sel_lt] / vmax, facecolors="none",
                       edgecolors=LONG_TERM_COLOR, linewidths=1.5)
        kind = "working" if sel_wm.any() and not (tier[origin_frame == f] == 0).any() else (
            "long-term" if not sel_wm.any() else "working + long-term")
        ax.set_title(f"frame {f} ({kind}): {mass[f]:.0%}", fontsize=9)
        ax.set_xlim(-0.5, frame_hw[1] - 0.5)
        ax.set_ylim(frame_hw[0] - 0.5, -0.5)
    for ax in axes:
        ax.axis("off")
    if im is not None:
        fig.colorbar(im, ax=list(axes[1:]), shrink=0.8, label="attention weight")
    lt_share = float(weights[tier == 0].sum())
    k_text = f"top-k = {top_k}, " if top_k else ""
    fig.suptitle(
        f"{k_text}{int((weights > 0).sum())} memory elements used; long-term {lt_share:.0%}, "
        f"working {1 - lt_share:.0%} (circles: long-term prototypes)", fontsize=10,
    )
    return fig


# ---- the whole attention matrix W of one frame ------------------------------------------------------
@dataclass(frozen=True)
class AttentionMatrix:
    """W of one frame (Eq. 1-3, after top-k), its rows and columns put in the order a figure draws.

    weights: queries x elements, `weights[i, j] = probe.affinity[query_order[i], element_order[j]]`.
    query_order: rows as indices into `probe.query_pixels`: all grid cells in reading order (row by
    row), those marked `query_on` first when that is given. element_order: columns as indices into
    the probe's elements: long-term memory first, then working memory, each by origin frame (those
    marked `element_on` first within a frame, then by grid cell). groups: one (tier, origin frame,
    start, stop) per run of columns from one frame of one tier (tier 0 long-term, 1 working).
    query_split: rows [0, query_split) are the `query_on` cells (None without `query_on`).
    """

    weights: np.ndarray
    query_order: np.ndarray
    element_order: np.ndarray
    groups: list[tuple[int, int, int, int]]
    query_split: int | None
    feature_shape: tuple[int, int]


def _check_all_cells_probe(probe: Any) -> tuple[int, int]:
    if probe is None:
        raise ValueError(
            "no affinity probe for this frame: it was not segmented, or no probe was set; call "
            "session.set_probe(all grid cells) before session.step(frame) and pass records[t].affinity"
        )
    missing = [name for name in ("query_pixels", "feature_shape", "affinity", "tier", "origin_frame")
               if not hasattr(probe, name)]
    if missing:
        raise TypeError(f"expected an AffinityProbe (FrameRecord.affinity), got {type(probe).__name__} "
                        f"without {', '.join(missing)}")
    rows, cols = (int(n) for n in probe.feature_shape)
    cells = {(int(r), int(c)) for r, c in probe.query_pixels}
    if len(probe.query_pixels) != rows * cols or cells != {(r, c) for r in range(rows) for c in range(cols)}:
        raise ValueError(
            f"the attention matrix needs a probe of all {rows * cols} grid cells ({rows} x {cols}); this probe "
            f"has {len(probe.query_pixels)} query cell(s). Probe every cell on that frame: "
            "session.set_probe([(r, c) for r in range(rows) for c in range(cols)])"
        )
    affinity = np.asarray(probe.affinity)
    if affinity.shape != (rows * cols, len(probe.tier)) or len(probe.origin_frame) != len(probe.tier):
        raise ValueError(f"inconsistent probe: affinity {affinity.shape}, {len(probe.tier)} tiers, "
                         f"{len(probe.origin_frame)} origin frames for {rows * cols} queries")
    return rows, cols


def attention_matrix(
    probe: Any, query_on: np.ndarray | None = None, element_on: np.ndarray | None = None
) -> AttentionMatrix:
    """The full query x memory matrix W of one frame from an `AffinityProbe` of *all* grid cells,
    in drawing order (see `AttentionMatrix`). query_on: optional bool per grid cell (rows x cols, or
    one per cell in reading order), e.g. "on the object" in this frame's mask; element_on: optional
    bool per memory element (the probe's order), e.g. "on the object in its own frame".
    Raises ValueError for None, a probe of only some cells, or masks of the wrong size."""
    rows, cols = _check_all_cells_probe(probe)
    n_queries, n_elements = rows * cols, len(probe.tier)
    # Rows: grid cells in reading order whatever order the probe listed them in.
    cell_index = np.array([int(r) * cols + int(c) for r, c in probe.query_pixels])
    query_order = np.argsort(cell_index, kind="stable")
    split = None
    if query_on is not None:
        on = np.asarray(query_on, dtype=bool)
        if on.size != n_queries:
            raise ValueError(f"query_on has {on.size} values; the grid has {rows} x {cols} = {n_queries} cells")
        on_row = on.reshape(-1)[cell_index[query_order]]
        query_order = np.concatenate([query_order[on_row], query_order[~on_row]])
        split = int(on_row.sum())
    tier = np.asarray(probe.tier, dtype=int)
    frame = np.asarray(probe.origin_frame, dtype=int)
    pixel = np.asarray(getattr(probe, "origin_pixel", np.zeros(n_elements)), dtype=int)
    keys = [pixel]
    if element_on is not None:
        marked = np.asarray(element_on, dtype=bool).reshape(-1)
        if marked.size != n_elements:
            raise ValueError(f"element_on has {marked.size} values; the probe has {n_elements} memory elements")
        keys.append(~marked)
    element_order = np.lexsort((*keys, frame, tier))  # the last key sorts first: tier, frame, ...
    groups: list[tuple[int, int, int, int]] = []
    t_sorted, f_sorted = tier[element_order], frame[element_order]
    start = 0
    for j in range(1, n_elements + 1):
        if j == n_elements or t_sorted[j] != t_sorted[start] or f_sorted[j] != f_sorted[start]:
            groups.append((int(t_sorted[start]), int(f_sorted[start]), start, j))
            start = j
    weights = np.asarray(probe.affinity, dtype=float)[np.ix_(query_order, element_order)]
    return AttentionMatrix(weights, query_order, element_order, groups, split, (rows, cols))


def attention_matrix_figure(
    probe: Any,
    query_frame: int | None = None,
    query_on: np.ndarray | None = None,
    element_on: np.ndarray | None = None,
    on_label: str = "object",
    floor: float = 1e-3,
    top_k: int | None = None,
    width: float = 12.0,
    height: float = 5.5,
) -> Figure:
    """Every query cell's attention over every memory element of one frame: the matrix W.

    Rows: the query cells of the frame (reading order; `query_on` cells first, with a line under
    them). Columns: memory elements, long-term prototypes (left panel) and working memory (right
    panel), grouped by the frame they came from (thin lines between frames). Each non-zero weight
    is a square coloured on a log scale from `floor` to 1 (smaller weights are drawn at `floor`'s
    colour, so sparse weights stay visible); zeros are white. The strip above each panel is the
    usage this frame gave each element (the column sums, what Sec. 3.4 accumulates). A one-hot
    row (a single dark square) is a query that copies one memory element's value.
    probe: an `AffinityProbe` of all grid cells (ValueError otherwise, or for None).
    """
    from matplotlib.colors import LogNorm

    m = attention_matrix(probe, query_on, element_on)
    n_rows, n_cols = m.weights.shape
    tiers = [t for t in (0, 1) if any(g[0] == t for g in m.groups)]
    span = {t: (min(g[2] for g in m.groups if g[0] == t), max(g[3] for g in m.groups if g[0] == t)) for t in tiers}
    # Each panel at least a quarter of the width, so a few prototypes are not a sliver.
    ratios = [max(span[t][1] - span[t][0], 0.25 * n_cols) for t in tiers] or [1]
    fig = Figure(figsize=(width, height), layout="constrained")
    strip = element_on is not None
    grid = fig.add_gridspec(3 if strip else 2, len(ratios), width_ratios=ratios,
                            height_ratios=[1, 6, 0.25] if strip else [1, 6])
    norm = LogNorm(vmin=floor, vmax=1.0, clip=True)
    cmap = _sparse_cmap()
    rows_i, cols_i = np.nonzero(m.weights)
    values = m.weights[rows_i, cols_i]
    usage = m.weights.sum(0)
    main_axes, artist = [], None
    panel_in = width / sum(ratios) * 0.85
    names = {0: "long-term memory (prototypes)", 1: "working memory"}
    for p, t in enumerate(tiers):
        lo, hi = span[t]
        top = fig.add_subplot(grid[0, p])
        ax = fig.add_subplot(grid[1, p], sharex=top)
        main_axes.append(ax)
        sel = (cols_i >= lo) & (cols_i < hi)
        # Square side in points: one matrix cell, but at least 2.5 pt so that a lone weight shows.
        cell_pt = min(panel_in * ratios[p] / max(hi - lo, 1), height * 0.7 / max(n_rows, 1)) * 72
        side = max(cell_pt, 2.5)
        artist = ax.scatter(cols_i[sel] + 0.5, rows_i[sel] + 0.5, c=values[sel], s=side**2, marker="s",
                            cmap=cmap, norm=norm, linewidths=0, rasterized=True)
        top.bar(np.arange(lo, hi) + 0.5, usage[lo:hi], width=1.0, color=WORKING_COLOR if t == 1 else LONG_TERM_COLOR)
        top.set_title(f"{names[t]}: {hi - lo} elements", fontsize=9)
        top.tick_params(labelbottom=False, labelsize=7)
        top.set_ylabel("usage" if p == 0 else "", fontsize=8)
        top.grid(axis="y", alpha=0.3)
        ax.set_xlim(lo, hi)
        ax.set_ylim(n_rows, 0)
        centres, labels = [], []
        for tier, frame, start, stop in m.groups:
            if tier != t:
                continue
            if start > lo:
                ax.axvline(start, color="0.55", lw=0.6)
            centres.append((start + stop) / 2)
            labels.append(str(frame))
        if m.query_split is not None and 0 < m.query_split < n_rows:
            ax.axhline(m.query_split, color="C0", lw=1.2)
        if strip:
            bar = fig.add_subplot(grid[2, p], sharex=top)
            marked = np.asarray(element_on, dtype=bool).reshape(-1)[m.element_order][lo:hi]
            bar.imshow(marked[None, :].astype(float), aspect="auto", cmap="Blues", vmin=0, vmax=1.2,
                       extent=(lo, hi, 1, 0), interpolation="nearest")
            bar.set_yticks([])
            bar.set_xticks(centres, labels, fontsize=7)
            bar.set_xlabel(f"origin frame (blue strip: element on the {on_label} in its frame)", fontsize=8)
            ax.tick_params(labelbottom=False)
        else:
            ax.set_xticks(centres, labels, fontsize=7)
            ax.set_xlabel("origin frame of the memory element", fontsize=8)
        if p == 0:
            if m.query_split is not None:
                ax.set_yticks([m.query_split / 2, (m.query_split + n_rows) / 2],
                              [f"on the {on_label}\n({m.query_split})", f"elsewhere\n({n_rows - m.query_split})"],
                              fontsize=8)
            else:
                rows, cols = m.feature_shape
                step = max(1, rows // 6)
                ax.set_yticks([r * cols for r in range(0, rows, step)], [f"row {r}" for r in range(0, rows, step)],
                              fontsize=7)
            ax.set_ylabel("query cell (grid, row by row)", fontsize=8)
        else:
            ax.tick_params(labelleft=False)
            ax.set_yticks(main_axes[0].get_yticks())
    if artist is not None:
        fig.colorbar(artist, ax=main_axes, shrink=0.9, pad=0.01, label=f"weight W (log; < {floor:g} drawn at {floor:g})")
    used = (m.weights > 0).sum(1)
    k_text = f" (top k = {top_k})" if top_k else ""
    one_hot = float((m.weights.max(1) > 0.99).mean()) if n_rows else 0.0
    where = f"frame {query_frame}: " if query_frame is not None else ""
    fig.suptitle(
        f"{where}W, {n_rows} query cells x {n_cols} memory elements; each query weights {used.min()}-{used.max()} "
        f"elements{k_text}; {one_hot:.0%} of rows one-hot (largest weight > 0.99)", fontsize=10,
    )
    return fig


def _sparse_cmap():
    """viridis reversed, without its palest end: small weights stay visible on white, large ones are dark."""
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap

    return ListedColormap(colormaps["viridis_r"](np.linspace(0.12, 1.0, 256)))
