"""Figures of the memory tiers: occupancy over time (together, or each tier on its own axis,
or over a long video on a log axis with its bound), usage at consolidation and forgetting,
where prototypes came from and what potentiation mixed into them, which frames working memory
holds (Sec. 3.2-3.4)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, NullFormatter

from ..geometry import FrameGeometry
from ._common import STRIDE, byte_label, _get, series, _index, _events, _frame_getter, _geometry, WORKING_COLOR, LONG_TERM_COLOR, SENSORY_COLOR, TOTAL_COLOR, FrameGetter


# ---- memory occupancy ----------------------------------------------------------------------------
def occupancy_figure(
    records: Sequence[Any],
    config: Any = None,
    unit: str = "elements",
    title: str | None = None,
    ax: Any = None,
    legend: bool = True,
    log: bool = False,
) -> Figure:
    """Elements (or bytes) held by each tier over time, with consolidations and forgetting marked.

    config: the session's MemoryConfig; when given, its bounds are drawn (L_max for
    long-term memory; T_max frames for working memory).
    unit: "elements" (keys, per FrameRecord.working_size / long_term_size) or "bytes".
    log: a logarithmic y axis (bytes labelled B / KiB / MiB): the tiers differ by orders of
    magnitude (KiB of sensory memory, MiB of working memory) and each stays visible; a tier
    holding nothing is not drawn (0 has no logarithm). The app's live memory plot uses it.
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
        per = 1 if log else 2**20
        wm = np.array([m.get("working", 0) for m in mb], float) / per
        lt = np.array([m.get("long_term", 0) for m in mb], float) / per
        sens = np.array([m.get("sensory", 0) for m in mb], float) / per
        ylabel = "bytes (log scale)" if log else "memory (MiB)"
    else:
        wm, lt, sens = series(records, "working_size"), series(records, "long_term_size"), None
        ylabel = "memory elements (log scale)" if log else "memory elements"
    if log:  # empty tiers are not drawn, rather than clipped to the bottom of the axis
        wm, lt = (np.where(v > 0, v, np.nan) for v in (np.asarray(wm, float), np.asarray(lt, float)))
        sens = None if sens is None else np.where(sens > 0, sens, np.nan)
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
    total = np.nan_to_num(wm) + np.nan_to_num(lt)
    ax.plot(x, np.where(total > 0, total, np.nan) if log else total, color=TOTAL_COLOR, lw=1, ls="--",
            label="working + long-term")
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
        top = max(float(total.max()), 1.0)
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
    if log:
        ax.set_yscale("log", base=4)
        if unit == "bytes":
            ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: byte_label(value)))
            ax.yaxis.set_minor_formatter(NullFormatter())
    else:
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
def usage_histogram(event: Any, bins: int = 30, ax: Any = None, title: str | None = None,
                    log_count: bool = True) -> Figure:
    """Histogram of usage at a consolidation (prototypes highlighted) or a forgetting step.

    ConsolidationEvent: candidate_usage, with the P chosen prototypes (the highest usage,
    Sec. 3.4 "prototype selection") in red. ForgettingEvent: usage_before, with the
    forgotten (least used) elements in black. The dashed line is the threshold usage; its
    legend entry says how many elements tie there exactly and how the tie was resolved
    (`torch.topk`'s order picks the prototypes among tied candidates; forgetting drops all of
    them). A further entry counts the elements with usage exactly 0.

    log_count: a logarithmic count axis (the default): usage is sparse, so one bar (usage 0)
    would otherwise hold most elements and the prototypes' bars would be invisible slivers.
    """
    if ax is None:
        fig = Figure(figsize=(6.4, 3), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    ax.set_xlabel("usage (mean attention received per read)")
    ax.set_ylabel("memory elements" + (" (log scale)" if log_count else ""))
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
        threshold = event.threshold_usage if chosen.any() else None
        tie = (f"threshold u = {threshold:.4g}: {event.tied_at_threshold} tied, {event.chosen_from_tie} chosen"
               + (" (by topk's order)" if event.chosen_from_tie < event.tied_at_threshold else "")) if threshold is not None else ""
    else:
        usage = np.asarray(event.usage_before, dtype=float)
        kept = np.asarray(event.kept, bool) if len(event.kept) == len(usage) else np.ones(len(usage), bool)
        parts = [(usage[kept], LONG_TERM_COLOR, "kept"), (usage[~kept], "black", f"forgotten ({int((~kept).sum())})")]
        default_title = f"forgetting: {len(usage)} long-term elements → {int(kept.sum())}"
        threshold = event.threshold_usage if (~kept).any() else None
        beyond = event.removed - event.requested
        tie = (f"threshold u = {threshold:.4g}: {event.tied_at_threshold} tied, all forgotten"
               + (f" ({beyond} beyond the {event.requested} requested)" if beyond > 0 else "")) if threshold is not None else ""
    if len(usage):
        lo, hi = float(usage.min()), float(usage.max())
        edges = np.linspace(lo, hi if hi > lo else lo + 1e-6, bins + 1)
        data = [p[0] for p in parts]
        ax.hist(data, bins=edges, stacked=True, color=[p[1] for p in parts], label=[p[2] for p in parts], log=log_count)
        # A rug under the axis for the highlighted elements: visible even where a bar is 1 of 100s.
        marked, color = parts[1][0], parts[1][1]
        if len(marked):
            ax.plot(marked, np.full(len(marked), 0.5 if log_count else 0.0), "|", color=color, ms=14, mew=1.5,
                    clip_on=False, zorder=4, label="_rug")
        if threshold is not None:
            ax.axvline(threshold, color="black", lw=0.8, ls="--", label=tie)
        zero = int((usage == 0).sum())
        ax.plot([], [], " ", label=f"usage exactly 0: {zero} of {len(usage)} ({zero / len(usage):.0%})")
        if log_count:
            ax.set_ylim(bottom=0.5)
        ax.legend(fontsize=7, loc="upper right")
    ax.set_title(title or default_title, fontsize=10)
    return fig


def prototype_figure(
    event: Any,
    frames: Sequence[np.ndarray] | FrameGetter | Mapping[int, np.ndarray],
    frame_hw: tuple[int, int],
    working_size: int | None = None,
    max_frames: int | None = None,
    width: float = 12.0,
    geometry: FrameGeometry | None = None,
    cols: int = 5,
) -> Figure:
    """Where the prototypes of one consolidation came from: markers on their source frames.

    Marker colour = rank by usage (darkest = most used). Each prototype is one grid cell
    (a 16x16 patch of the working frame). Every origin frame gets a panel (at most `cols` per row),
    unless `max_frames` limits them to the frames with the most prototypes; the title then
    says how many frames and prototypes are left out. geometry: the record's
    `FrameRecord.geometry` (else derived from frame_hw and working_size).
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
    nrows = -(-n // max(cols, 1))
    ncols = -(-n // nrows)  # balanced rows: 5 frames -> 1 x 5, 6 -> 2 x 3, 7 -> 2 x 4
    aspect = frame_hw[0] / frame_hw[1]
    fig = Figure(figsize=(width, nrows * width / ncols * aspect + 0.8), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
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
    for ax in axes:
        ax.axis("off")
    if not shown:
        axes[0].text(0.5, 0.5, "no prototypes", ha="center", va="center", transform=axes[0].transAxes)
    elif sc is not None:
        fig.colorbar(sc, ax=list(axes), shrink=0.8, label="rank by usage\n(0 = most used)")
    heading = f"prototype origins: {len(origins)} prototypes from {len(by_frame)} memory frames"
    if len(shown) < len(by_frame):
        left = sum(len(by_frame[f]) for f in by_frame if f not in shown)
        heading += f" (showing {len(shown)} frames; {len(by_frame) - len(shown)} frames with {left} prototypes not shown)"
    fig.suptitle(heading, fontsize=10)
    return fig


def potentiation_figure(
    event: Any,
    frames: Sequence[np.ndarray] | FrameGetter | Mapping[int, np.ndarray],
    frame_hw: tuple[int, int],
    prototypes: Sequence[int] | None = None,
    top: int = 4,
    working_size: int | None = None,
    geometry: FrameGeometry | None = None,
    context: float = 2.0,
    width: float = 11.0,
    title: str | None = None,
) -> Figure:
    """Memory potentiation (Sec. 3.4): "this prototype is a weighted mix of these candidates".

    A prototype's value is sum_i w_i v_i over all candidates i, w = softmax of the similarity
    of each candidate's key to the prototype's key (Eq. 3); the prototype's own candidate has
    the largest weight (similarity 0, the maximum). One row per prototype: its patch on the
    frame it came from, with its own weight, then the `top` other candidates with the largest
    weights, each on its own frame with its weight (only nonzero weights: with sharp attention
    the rest underflow to exactly 0). A patch is one stride-16 grid cell (outlined) with
    `context` cells around it.

    prototypes: ranks (0 = most used) to show; None: the three most mixed (largest effective
    number of candidates, 1 / sum w^2). Needs the event's potentiation record (every session's
    hook receives it).
    """
    geo = _geometry(frame_hw, working_size, geometry)
    frame_hw = geo.frame_hw
    get = _frame_getter(frames)
    weights = getattr(event, "potentiation_weights", None)
    if weights is None:
        raise ValueError("this ConsolidationEvent has no potentiation record (potentiation_weights is None)")
    weights = np.asarray(weights, dtype=float)
    indices = np.asarray(event.potentiation_indices)
    mix_origins = np.asarray(event.potentiation_origins)
    proto_index = np.asarray(event.prototype_indices, dtype=int)
    usage = np.asarray(event.candidate_usage, dtype=float)
    effective = np.asarray(event.potentiation_effective, dtype=float)
    if prototypes is None:
        prototypes = np.argsort(-np.nan_to_num(effective, nan=0.0), kind="stable")[:3]
    rows = [int(j) for j in prototypes if 0 <= int(j) < len(weights)]

    def contributors(j: int) -> tuple[float, list[int]]:
        """(the prototype's own weight, positions of its `top` largest other nonzero weights)."""
        entries = [k for k in range(weights.shape[1]) if indices[j, k] >= 0 and weights[j, k] > 0]
        own = [weights[j, k] for k in entries if indices[j, k] == proto_index[j]]
        return (own[0] if own else 0.0), [k for k in entries if indices[j, k] != proto_index[j]][:max(1, top)]

    ncols = 1 + max([len(contributors(j)[1]) for j in rows] + [1])
    panel = min(width / ncols, 2.4)  # inches per patch
    fig = Figure(figsize=(max(panel * ncols, 6.0), max(len(rows), 1) * panel * 1.25 + 0.5), layout="constrained")
    axes = fig.subplots(max(len(rows), 1), ncols, squeeze=False)
    grid_cols = geo.grid_hw[1]
    cell = STRIDE / geo.scale  # one grid cell in frame pixels
    half = cell * (0.5 + context)

    def patch(ax, frame: int, pixel: int, color: str, heading: str) -> None:
        image = get(frame)
        if image is not None:
            ax.imshow(image, interpolation="nearest")  # the frame's own pixels, magnified
        y, x = geo.grid_to_image(pixel // grid_cols, pixel % grid_cols)
        ax.add_patch(Rectangle((x - cell / 2, y - cell / 2), cell, cell, fill=False, edgecolor=color, lw=2.2))
        ax.set_xlim(x - half, x + half)
        ax.set_ylim(y + half, y - half)
        ax.set_title(heading, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])

    for row, j in zip(axes, rows):
        frame, pixel = (int(v) for v in event.prototype_origins[j])
        own, others = contributors(j)
        patch(row[0], frame, pixel, LONG_TERM_COLOR,
              f"prototype {j}: frame {frame}\nusage {usage[proto_index[j]]:.3g}, own w = {own:.3g}")
        row[0].set_ylabel(f"effective {effective[j]:.2f}\ncandidates", fontsize=8)
        for ax, k in zip(row[1:], others):
            f, p = (int(v) for v in mix_origins[j, k])
            patch(ax, f, p, "black", f"w = {weights[j, k]:.3g}\nframe {f}")
        for ax in row[1 + len(others):]:
            ax.axis("off")
    if not rows:
        for ax in axes.ravel():
            ax.axis("off")
        axes[0, 0].text(0.5, 0.5, "no prototypes", ha="center", va="center", transform=axes[0, 0].transAxes)
    n = getattr(event, "num_candidates", len(usage))
    fig.suptitle(title or f"memory potentiation: a prototype's value = Σ w_i v_i over the {n} candidates\n"
                          f"(red: the prototype; black: its next largest w_i)", fontsize=10)
    return fig


# ---- the tiers apart, what working memory holds, long videos (notebooks 03-05) -------------------
def tiers_figure(records: Sequence[Any], config: Any, title: str | None = None, width: float = 9.0) -> Figure:
    """Working memory (top) and long-term memory (bottom) on separate axes, with their bounds."""
    fig = Figure(figsize=(width, 4.2), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[1.2, 1])
    x = np.array([r.index for r in records])
    wm, lt = series(records, "working_size"), series(records, "long_term_size")
    hw = records[-1].elements_per_frame if records else 0
    top.plot(x, wm, color=WORKING_COLOR, lw=1.6, label="working memory")
    top.axhline(config.max_mid_term_frames * hw, color=WORKING_COLOR, lw=0.8, ls="-.",
                label=f"T_max·HW = {config.max_mid_term_frames}·{hw}")
    top.axhline(config.min_mid_term_frames * hw, color=WORKING_COLOR, lw=0.8, ls=":",
                label=f"T_min·HW = {config.min_mid_term_frames}·{hw} (after consolidation)")
    bottom.plot(x, lt, color=LONG_TERM_COLOR, lw=1.6, label="long-term memory")
    bottom.axhline(config.max_long_term_elements, color=LONG_TERM_COLOR, lw=0.8, ls="-.",
                   label=f"L_max = {config.max_long_term_elements}")
    forgetting = _events(records, "forgetting")
    if forgetting:
        pos = {t: i for i, t in enumerate(x)}
        bottom.scatter(forgetting, [lt[pos[t]] for t in forgetting], marker="x", color="black", s=28, zorder=4,
                       label="forgetting")
    for ax in (top, bottom):
        for k, t in enumerate(_events(records, "consolidation")):
            ax.axvline(t, color="0.6", lw=0.6, ls=":", zorder=0, label="consolidation" if k == 0 else None)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    top.set_ylabel("working\n(elements)")
    bottom.set_ylabel("long-term\n(elements)")
    bottom.set_ylim(0, config.max_long_term_elements * 1.25)
    bottom.set_xlabel("frame t")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def working_memory_figure(held: Mapping[int, Sequence[int]], records: Sequence[Any], config: Any,
                          title: str | None = None, width: float = 9.0) -> Figure:
    """held: frame t -> the frames whose features are in working memory when t is segmented.

    One column per frame t, one row per memory frame: the first frame (always kept), the
    others while they are held, and, at each consolidation, the frames that leave working
    memory (the candidates, whose P most-used elements become long-term prototypes).
    """
    fig = Figure(figsize=(width, 3.8), layout="constrained")
    ax = fig.add_subplot()
    ts = sorted(held)
    kept_first = [(t, 0) for t in ts if 0 in held[t]]
    others = [(t, m) for t in ts for m in held[t] if m != 0]
    ax.scatter(*zip(*others), marker="s", s=9, color=WORKING_COLOR, label="held in working memory")
    ax.scatter(*zip(*kept_first), marker="s", s=9, color="black", label="first frame (never a candidate)")
    for k, r in enumerate(r for r in records if r.consolidation):
        before = set(held.get(r.index, ())) | {r.index}  # read on frame t, then frame t is written
        after = set(held.get(r.index + 1, ()))
        left = sorted(before - after) if after else []
        if left:
            ax.scatter([r.index] * len(left), left, marker="o", s=40, facecolors="none", edgecolors=LONG_TERM_COLOR,
                       linewidths=1.2, label="candidates -> P prototypes (leave working memory)" if k == 0 else None)
        ax.axvline(r.index, color="0.6", lw=0.6, ls=":", zorder=0)
    ax.set_xlabel("frame t being segmented")
    ax.set_ylabel("memory frame (origin)")
    ax.set_xlim(-1, ts[-1] + 1)
    ax.set_ylim(-2, ts[-1] + 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(title or (f"what working memory holds: r = {config.mem_every}, T_min = {config.min_mid_term_frames}, "
                           f"T_max = {config.max_mid_term_frames}"), fontsize=10)
    return fig


def long_video_memory_figure(runs: Mapping[str, Sequence[Any]], bound: float, length: int,
                             title: str | None = None, width: float = 11.0) -> Figure:
    """Memory elements (working + long-term) per frame on a log axis, with the bound, for each run.

    A run shorter than `length` (memory without long-term memory, which grows by HW every r
    frames) is continued as a dotted straight line fitted to its element count.
    """
    fig = Figure(figsize=(width, 3.4), layout="constrained")
    ax = fig.add_subplot()
    for k, (label, records) in enumerate(runs.items()):
        x = np.array([r.index for r in records])
        total = series(records, "working_size") + series(records, "long_term_size")
        ax.plot(x + 1, np.maximum(total, 1), color=f"C{k}", lw=1.5, label=label)
        if x[-1] + 1 < length:
            slope, offset = np.polyfit(x, total, 1)
            xs = np.array([x[-1], length - 1])
            ax.plot(xs + 1, slope * xs + offset, color=f"C{k}", lw=1.2, ls=":", label=f"{label}, extrapolated")
    ax.axhline(bound, color="black", lw=1.2, ls="--", label=f"bound T_max·HW + L_max = {bound:,.0f}")
    ax.set_yscale("log")
    ax.set_xlabel("frame t")
    ax.set_ylabel("memory elements (working + long-term, log scale)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left")
    if title:
        ax.set_title(title, fontsize=10)
    return fig
