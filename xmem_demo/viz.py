"""Figures that show what XMem's memory does, built from `FrameRecord`s only.

Every function returns a `matplotlib.figure.Figure` (never touches pyplot's global state,
so the app can call them from concurrent sessions; in a notebook the figure displays
itself). Inputs are the observability hook's payload (`FrameRecord`, or the dicts of
`FrameRecord.summary()`) and its events; nothing here reads the memory tiers directly.

Paper symbols (Cheng & Schwing, ECCV 2022) used in labels: r (a memory frame every r
frames), T_min / T_max (working-memory frames after / before consolidation), P
(prototypes per consolidation), L_max (long-term capacity), k (top-k), s (shrinkage),
e (selection), h (sensory hidden state).

Geometry: memory elements live on the stride-16 feature grid of the *padded* working
frame (see `InferenceSession`); `feature_grid_shape`, `grid_to_image` and
`image_to_grid` convert between that grid and frame pixels.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from .palette import overlay as palette_overlay
from .geometry import STRIDE, FrameGeometry

WORKING_COLOR = "#1f77b4"
LONG_TERM_COLOR = "#d62728"
SENSORY_COLOR = "#2ca02c"
TOTAL_COLOR = "#333333"

FrameGetter = Callable[[int], np.ndarray]


# ---- small helpers ---------------------------------------------------------------------------
def _get(record: Any, name: str, default: Any = None) -> Any:
    """A field of a FrameRecord or of its summary() dict."""
    if isinstance(record, Mapping):
        return record.get(name, default)
    return getattr(record, name, default)


def series(records: Sequence[Any], name: str) -> np.ndarray:
    """One field over frames, e.g. series(records, "long_term_size")."""
    return np.array([_get(r, name) for r in records])


def object_series(records: Sequence[Any], name: str) -> tuple[list[int], np.ndarray]:
    """A per-object field over frames, e.g. object_series(records, "sensory_norm").

    Returns (object ids, frames x objects float array) with one column per object ever seen,
    in channel order; NaN on frames before an object was added.
    """
    ids: list[int] = []
    for r in records:
        ids.extend(i for i in (_get(r, "object_ids") or []) if i not in ids)
    out = np.full((len(records), len(ids)), np.nan)
    for t, r in enumerate(records):
        for obj, value in zip(_get(r, "object_ids") or [], _get(r, name) or []):
            out[t, ids.index(obj)] = value
    return ids, out


def _index(records: Sequence[Any]) -> np.ndarray:
    return np.array([_get(r, "index", i) for i, r in enumerate(records)])


def _events(records: Sequence[Any], name: str) -> list[int]:
    """Frame indices whose record carries a consolidation / forgetting event."""
    return [int(_get(r, "index", i)) for i, r in enumerate(records) if _get(r, name)]


def _frame_getter(frames: Any) -> FrameGetter:
    if frames is None:
        return lambda i: None  # type: ignore[return-value]
    if callable(frames):
        return frames
    if hasattr(frames, "get") and not isinstance(frames, Mapping):  # a FrameSource
        return frames.get
    return lambda i: frames[i]


def rolling_median(x: Sequence[float], window: int) -> np.ndarray:
    """Centred rolling median (shrinking at the ends); window <= 1 returns x."""
    x = np.asarray(x, dtype=float)
    if window <= 1 or len(x) == 0:
        return x
    half = window // 2
    if len(x) > 4 * window:  # vectorised over the full windows
        from numpy.lib.stride_tricks import sliding_window_view

        out = np.empty_like(x)
        mid = np.median(sliding_window_view(x, 2 * half + 1), axis=1)
        out[half : half + len(mid)] = mid
        for i in list(range(half)) + list(range(half + len(mid), len(x))):
            out[i] = np.median(x[max(0, i - half) : i + half + 1])
        return out
    return np.array([np.median(x[max(0, i - half) : i + half + 1]) for i in range(len(x))])


# ---- geometry: the stride-16 feature grid (one definition: xmem_demo.geometry) ---------------------
# Figures take the FrameGeometry a FrameRecord / AffinityProbe carries (`geometry=`); the
# (frame_hw, working_size) pairs below are kept for code that has no record at hand.
def _geometry(frame_hw: tuple[int, int] | None, working_size: int | None,
              geometry: FrameGeometry | None = None) -> FrameGeometry:
    if geometry is not None:
        return geometry
    if frame_hw is None:
        raise ValueError("give frame_hw (and working_size), or a FrameGeometry (FrameRecord.geometry)")
    return FrameGeometry.for_frame(frame_hw, working_size)


def working_hw(frame_hw: tuple[int, int], working_size: int | None = None) -> tuple[int, int]:
    """Size the session works at (short side = working_size; None or -1 keeps the frame size)."""
    return FrameGeometry.for_frame(frame_hw, working_size).working_hw


def feature_grid_shape(frame_hw: tuple[int, int], working_size: int | None = None) -> tuple[int, int]:
    """(rows, cols) of the stride-16 grid: one memory element per cell per memory frame."""
    return FrameGeometry.for_frame(frame_hw, working_size).grid_hw


def grid_to_image(row: float, col: float, frame_hw: tuple[int, int], working_size: int | None = None) -> tuple[float, float]:
    """Centre of grid cell (row, col), in frame pixel coordinates (y, x)."""
    return FrameGeometry.for_frame(frame_hw, working_size).grid_to_image(row, col)


def image_to_grid(y: float, x: float, frame_hw: tuple[int, int], working_size: int | None = None) -> tuple[int, int]:
    """The grid cell (row, col) that frame pixel (y, x) falls into (for `session.set_probe`)."""
    return FrameGeometry.for_frame(frame_hw, working_size).image_to_grid(y, x)


def png_bytes(fig: Figure, dpi: float | None = None) -> bytes:
    """The figure as PNG bytes, e.g. for an `ipywidgets.Image` that a slider redraws."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi if dpi is not None else fig.dpi)
    return buffer.getvalue()


# ---- masks -------------------------------------------------------------------------------------
def overlay(frame: np.ndarray, mask: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Frame with the index mask tinted in DAVIS palette colours and outlined."""
    return palette_overlay(frame, mask, alpha=alpha)


def overlay_strip(
    frames: Sequence[np.ndarray] | FrameGetter,
    masks: Sequence[np.ndarray] | Mapping[int, np.ndarray],
    indices: Iterable[int] | None = None,
    titles: Sequence[str] | None = None,
    cols: int = 6,
    width: float = 12.0,
    suptitle: str | None = None,
) -> Figure:
    """A grid of frames with their masks overlaid; `indices` picks frames (default: 6 spread out)."""
    get = _frame_getter(frames)
    if indices is None:
        n = len(masks)
        indices = np.unique(np.linspace(0, max(n - 1, 0), min(n, cols)).round().astype(int)) if n else []
    indices = [int(i) for i in indices]
    n = max(len(indices), 1)
    cols = min(cols, n)
    rows = -(-n // cols)
    first = get(indices[0]) if indices else None
    aspect = first.shape[0] / first.shape[1] if first is not None else 0.75
    fig = Figure(figsize=(width, width / cols * aspect * rows + 0.5 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for k, t in enumerate(indices):
        ax = axes.flat[k]
        ax.imshow(overlay(get(t), masks[t]))
        ax.set_title(titles[k] if titles is not None else f"frame {t}", fontsize=9)
    if not indices:
        axes.flat[0].text(0.5, 0.5, "no frames", ha="center", va="center", transform=axes.flat[0].transAxes)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


# ---- memory occupancy ----------------------------------------------------------------------------
def occupancy_figure(
    records: Sequence[Any],
    config: Any = None,
    unit: str = "elements",
    title: str | None = None,
    ax: Any = None,
    legend: bool = True,
) -> Figure:
    """Elements (or bytes) held by each tier over time, with consolidations and forgetting marked.

    config: the session's MemoryConfig; when given, its bounds are drawn (L_max for
    long-term memory; T_max frames for working memory).
    unit: "elements" (keys, per FrameRecord.working_size / long_term_size) or "bytes".
    """
    owns_figure = ax is None
    if owns_figure:
        fig = Figure(figsize=(9, 3.2), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    x = _index(records)
    if unit == "bytes":
        mb = [_get(r, "memory_bytes", {}) or {} for r in records]
        wm = np.array([m.get("working", 0) for m in mb]) / 2**20
        lt = np.array([m.get("long_term", 0) for m in mb]) / 2**20
        sens = np.array([m.get("sensory", 0) for m in mb]) / 2**20
        ylabel = "memory (MiB)"
    else:
        wm, lt, sens = series(records, "working_size"), series(records, "long_term_size"), None
        ylabel = "memory elements"
    ax.set_xlabel("frame t")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if len(records) == 0:
        ax.set_title(title or "memory occupancy (no frames yet)")
        return fig
    ax.plot(x, wm, color=WORKING_COLOR, lw=1.6, label="working memory")
    ax.plot(x, lt, color=LONG_TERM_COLOR, lw=1.6, label="long-term memory")
    if sens is not None:
        ax.plot(x, sens, color=SENSORY_COLOR, lw=1.6, label="sensory memory")
    ax.plot(x, wm + lt, color=TOTAL_COLOR, lw=1, ls="--", label="working + long-term")
    consolidations = _events(records, "consolidation")
    forgetting = _events(records, "forgetting")
    for k, t in enumerate(consolidations):
        ax.axvline(t, color="0.6", lw=0.6, ls=":", zorder=0, label="consolidation" if k == 0 else None)
    if forgetting:
        pos = {int(_get(r, "index", i)): i for i, r in enumerate(records)}
        ax.scatter(forgetting, [lt[pos[t]] for t in forgetting], marker="x", color="black", s=28, zorder=4,
                   label="forgetting")
    if config is not None and unit == "elements" and getattr(config, "enable_long_term", False):
        hw = int(_get(records[-1], "elements_per_frame", 0) or 0)
        top = max(float((wm + lt).max()), 1.0)
        bounds = [(config.max_long_term_elements, LONG_TERM_COLOR, f"L_max = {config.max_long_term_elements}")]
        if hw:
            bounds.append((config.max_mid_term_frames * hw, WORKING_COLOR,
                           f"T_max·HW = {config.max_mid_term_frames}·{hw}"))
        for value, color, label in bounds:
            if value <= 1.5 * top:
                ax.axhline(value, color=color, lw=0.8, ls="-.", label=label)
            else:  # far above the data: name it without squashing the curves
                ax.plot([], [], color=color, lw=0.8, ls="-.", label=f"{label} (above the plot)")
    ax.set_xlim(x[0], max(x[-1], x[0] + 1))
    ax.set_ylim(bottom=0)
    if title:
        ax.set_title(title)
    if legend:
        if owns_figure:  # room to the right: keep the curves uncovered
            ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
        else:
            ax.legend(fontsize=8, loc="best", framealpha=0.85)
    return fig


# ---- usage: consolidation and forgetting -----------------------------------------------------------
def usage_histogram(event: Any, bins: int = 30, ax: Any = None, title: str | None = None) -> Figure:
    """Histogram of usage at a consolidation (prototypes highlighted) or a forgetting step.

    ConsolidationEvent: candidate_usage, with the P chosen prototypes (the highest usage,
    Sec. 3.4 "prototype selection") in red. ForgettingEvent: usage_before, with the
    forgotten (least used) elements in black.
    """
    if ax is None:
        fig = Figure(figsize=(6, 3), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    ax.set_xlabel("usage (mean attention received per read)")
    ax.set_ylabel("memory elements")
    ax.grid(alpha=0.3)
    if event is None:
        ax.set_title(title or "no event")
        return fig
    if hasattr(event, "candidate_usage"):
        usage = np.asarray(event.candidate_usage, dtype=float)
        chosen = np.zeros(len(usage), bool)
        chosen[np.asarray(event.prototype_indices, dtype=int)] = True
        parts = [(usage[~chosen], "0.6", "candidates not chosen"), (usage[chosen], LONG_TERM_COLOR, f"prototypes (P = {int(chosen.sum())})")]
        default_title = f"consolidation: {len(usage)} candidates → {int(chosen.sum())} prototypes"
        threshold = usage[chosen].min() if chosen.any() else None
    else:
        usage = np.asarray(event.usage_before, dtype=float)
        kept = np.asarray(event.kept, bool) if len(event.kept) == len(usage) else np.ones(len(usage), bool)
        parts = [(usage[kept], LONG_TERM_COLOR, "kept"), (usage[~kept], "black", f"forgotten ({int((~kept).sum())})")]
        default_title = f"forgetting: {len(usage)} long-term elements → {int(kept.sum())}"
        threshold = usage[~kept].max() if (~kept).any() else None
    if len(usage):
        lo, hi = float(usage.min()), float(usage.max())
        edges = np.linspace(lo, hi if hi > lo else lo + 1e-6, bins + 1)
        data = [p[0] for p in parts]
        ax.hist(data, bins=edges, stacked=True, color=[p[1] for p in parts], label=[p[2] for p in parts])
        # A rug under the axis for the highlighted elements: visible even where a bar is 1 of 100s.
        marked, color = parts[1][0], parts[1][1]
        if len(marked):
            ax.plot(marked, np.zeros(len(marked)), "|", color=color, ms=14, mew=1.5, clip_on=False, zorder=4,
                    label="_rug")
        if threshold is not None:
            ax.axvline(threshold, color="black", lw=0.8, ls="--")
        ax.legend(fontsize=8)
    ax.set_title(title or default_title, fontsize=10)
    return fig


def prototype_figure(
    event: Any,
    frames: Sequence[np.ndarray] | FrameGetter | Mapping[int, np.ndarray],
    frame_hw: tuple[int, int],
    working_size: int | None = None,
    max_frames: int = 4,
    width: float = 12.0,
    geometry: FrameGeometry | None = None,
) -> Figure:
    """Where the prototypes of one consolidation came from: markers on their source frames.

    Marker colour = rank by usage (darkest = most used). Each prototype is one grid cell
    (a 16x16 patch of the working frame). geometry: the record's `FrameRecord.geometry`
    (else derived from frame_hw and working_size).
    """
    geo = _geometry(frame_hw, working_size, geometry)
    frame_hw = geo.frame_hw
    get = _frame_getter(frames)
    origins = list(getattr(event, "prototype_origins", []) or [])
    by_frame: dict[int, list[tuple[int, int]]] = {}
    for rank, (f, p) in enumerate(origins):
        by_frame.setdefault(int(f), []).append((rank, int(p)))
    shown = sorted(by_frame, key=lambda f: -len(by_frame[f]))[:max_frames]
    shown.sort()
    n = max(len(shown), 1)
    aspect = frame_hw[0] / frame_hw[1]
    fig = Figure(figsize=(width, width / n * aspect + 0.8), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    grid = geo.grid_hw
    total = max(len(origins), 1)
    sc = None
    for ax, f in zip(axes, shown):
        image = get(f)
        if image is not None:
            ax.imshow(image)
        ranks, cells = zip(*by_frame[f])
        ys, xs = zip(*(geo.grid_to_image(p // grid[1], p % grid[1]) for p in cells))
        sc = ax.scatter(xs, ys, c=ranks, cmap="autumn", vmin=0, vmax=total - 1, s=40, edgecolors="black", linewidths=0.6)
        ax.set_xlim(-0.5, frame_hw[1] - 0.5)
        ax.set_ylim(frame_hw[0] - 0.5, -0.5)
        ax.set_title(f"frame {f}: {len(cells)} prototypes", fontsize=9)
        ax.axis("off")
    if not shown:
        axes[0].axis("off")
        axes[0].text(0.5, 0.5, "no prototypes", ha="center", va="center", transform=axes[0].transAxes)
    elif sc is not None:
        fig.colorbar(sc, ax=list(axes), shrink=0.8, label="rank by usage (0 = most used)")
    fig.suptitle(f"prototype origins: {len(origins)} prototypes from {len(by_frame)} memory frames", fontsize=10)
    return fig


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


# ---- time and quality ----------------------------------------------------------------------------
def time_figure(
    runs: Mapping[str, Sequence[Any]], smooth: int = 25, ax: Any = None, title: str | None = None
) -> Figure:
    """Milliseconds per frame (FrameRecord.seconds) for one or more runs; rolling median bold."""
    if ax is None:
        fig = Figure(figsize=(8, 3), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    for k, (label, records) in enumerate(runs.items()):
        if len(records) == 0:
            continue
        x, ms = _index(records), series(records, "seconds") * 1000
        color = f"C{k}"
        ax.plot(x, ms, color=color, lw=0.5, alpha=0.3)
        ax.plot(x, rolling_median(ms, smooth), color=color, lw=1.8, label=f"{label} (median {np.median(ms):.1f} ms)")
    ax.set_xlabel("frame t")
    ax.set_ylabel("time per frame (ms)")
    ax.set_ylim(bottom=0)
    tops = [np.percentile(series(r, "seconds"), 99) * 1000 for r in runs.values() if len(r) > 100]
    if tops:  # long runs: do not let a few hiccups (garbage collection, a busy machine) set the scale
        ax.set_ylim(0, 1.5 * max(tops))
    ax.grid(alpha=0.3)
    if any(len(r) for r in runs.values()):
        ax.legend(fontsize=8, loc="upper left")
    ax.set_title(title or "time per frame", fontsize=10)
    return fig


def metric_figure(
    values: Mapping[str, Sequence[float]],
    ylabel: str = "J (IoU with ground truth)",
    xlabel: str = "frame t",
    marks: Mapping[str, Sequence[int]] | None = None,
    title: str | None = None,
) -> Figure:
    """Per-frame curves (e.g. IoU of two configurations), with optional frame marks."""
    fig = Figure(figsize=(8, 3), layout="constrained")
    ax = fig.add_subplot()
    for label, y in values.items():
        ax.plot(np.arange(len(y)), y, lw=1.5, label=label)
    for k, (label, frames) in enumerate((marks or {}).items()):
        for j, t in enumerate(frames):
            ax.axvline(t, color=f"C{k + len(values)}", lw=0.6, ls=":", label=label if j == 0 else None)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if values or marks:
        ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def tradeoff_figure(
    r_values: Sequence[int], ms_per_frame: Sequence[float], scores: Sequence[float], score_label: str = "J&F"
) -> Figure:
    """The r sweep: time per frame and accuracy against r, and accuracy against time.

    Scores are drawn on their full range [0, 1], so that noise between neighbouring r does
    not look like a trend.
    """
    fig = Figure(figsize=(12, 3), layout="constrained")
    a, b, c = fig.subplots(1, 3)
    a.plot(r_values, ms_per_frame, "o-", color="C0")
    a.set_xlabel("r (memory frame every r frames)")
    a.set_ylabel("time per frame (ms)")
    a.set_ylim(bottom=0)
    a.set_title("cost", fontsize=10)
    b.plot(r_values, scores, "o-", color="C1")
    b.set_xlabel("r (memory frame every r frames)")
    b.set_ylabel(score_label)
    b.set_title("accuracy", fontsize=10)
    for ax in (a, b):
        ax.set_xscale("log", base=2)
        ax.set_xticks(list(r_values), [str(r) for r in r_values])
    c.plot(ms_per_frame, scores, "o-", color="C2")
    for k, (r, ms, score) in enumerate(zip(r_values, ms_per_frame, scores)):
        # Alternately above and below the point: neighbouring r often cost nearly the same.
        c.annotate(f"r = {r}", (ms, score), textcoords="offset points", xytext=(3, 6 if k % 2 == 0 else -13), fontsize=8)
    c.set_xlabel("time per frame (ms)")
    c.set_ylabel(score_label)
    c.set_title("speed vs accuracy", fontsize=10)
    for ax in (b, c):
        ax.set_ylim(0, 1)
    for ax in (a, b, c):
        ax.grid(alpha=0.3)
    return fig


def long_video_figure(
    runs: Mapping[str, Sequence[Any]],
    bound: float | None = None,
    smooth: int = 101,
    title: str | None = None,
    extrapolate: bool = False,
) -> Figure:
    """The long-video story in one figure: working + long-term elements, and time per frame.

    runs: label -> records (e.g. "with long-term memory" over the whole video, "without"
    over the frames it was run for). bound: the memory bound T_max·HW + L_max, drawn dashed.
    extrapolate: continue a run that stopped early as a dotted straight line (a least-squares
    fit of its element count) to the end of the longest run; right for a memory that grows
    by HW every r frames, as it does without long-term memory.
    """
    fig = Figure(figsize=(11, 3.4), layout="constrained")
    a, b = fig.subplots(1, 2)
    longest = max((len(r) for r in runs.values()), default=0)
    for k, (label, records) in enumerate(runs.items()):
        if len(records) == 0:
            continue
        x = _index(records)
        total = series(records, "working_size") + series(records, "long_term_size")
        a.plot(x, total, color=f"C{k}", lw=1.5, label=label)
        if x[-1] + 1 < longest:
            end = total[-1]
            if extrapolate and len(x) > 1:
                slope, offset = np.polyfit(x, total, 1)
                end = slope * (longest - 1) + offset
                a.plot([x[-1], longest - 1], [slope * x[-1] + offset, end], color=f"C{k}", lw=1.2, ls=":",
                       label=f"{label}, extrapolated")
            a.scatter([x[-1]], [total[-1]], color=f"C{k}", marker=">", zorder=3)
            a.annotate(f"stopped at t = {x[-1]}", (x[-1], total[-1]), textcoords="offset points", xytext=(6, -4), fontsize=8)
    if bound is not None:
        a.axhline(bound, color="black", lw=0.8, ls="--", label="bound T_max·HW + L_max")
    a.set_xlabel("frame t")
    a.set_ylabel("memory elements (working + long-term)")
    a.set_ylim(bottom=0)
    a.grid(alpha=0.3)
    if a.get_legend_handles_labels()[0]:
        # Away from the "stopped at" note (near the top, left of centre) and from an extrapolation.
        a.legend(fontsize=8, loc="upper left" if extrapolate else "center right")
    a.set_title("memory", fontsize=10)
    time_figure(runs, smooth=smooth, ax=b, title="time per frame")
    if title:
        fig.suptitle(title)
    return fig


__all__ = [
    "series",
    "object_series",
    "rolling_median",
    "working_hw",
    "feature_grid_shape",
    "grid_to_image",
    "image_to_grid",
    "png_bytes",
    "overlay",
    "overlay_strip",
    "occupancy_figure",
    "usage_histogram",
    "prototype_figure",
    "grid_maps_figure",
    "sensory_figure",
    "affinity_figure",
    "time_figure",
    "metric_figure",
    "tradeoff_figure",
    "long_video_figure",
]
