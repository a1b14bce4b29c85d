"""Figures on the stride-16 feature grid: maps (s, e, h), the sensory memory over time, and
where a query pixel attends in memory (Sec. 3.3)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..geometry import FrameGeometry
from ._common import _get, object_series, _index, _frame_getter, _geometry, LONG_TERM_COLOR, FrameGetter


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


