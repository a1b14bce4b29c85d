"""Figures that only the teaching notebooks draw (the app's and the notebooks' shared ones are in `viz`).

* `tiers_figure`: working and long-term memory each on its own axis (long-term memory holds
  tens of elements next to hundreds in working memory, so one axis hides it);
* `working_memory_figure`: which frames working memory holds on every frame: the first
  frame (kept), the newest frames, and the candidates that consolidation turns into prototypes;
* `sweep_figure`: a parameter sweep with error bars (mean and standard error over clips);
* `long_video_memory_figure`: memory over a long video on a log axis, so that the bound
  T_max·HW + L_max is visible next to a memory that grows without it.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from .viz import LONG_TERM_COLOR, WORKING_COLOR, series


def _events(records: Sequence[Any], name: str) -> list[int]:
    return [r.index for r in records if getattr(r, name, None) is not None]


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


def sweep_figure(values: Sequence[float], metrics: Mapping[str, tuple[np.ndarray, np.ndarray]], xlabel: str,
                 title: str | None = None, width: float = 11.0, log_x: bool = True) -> Figure:
    """One panel per metric: mean with error bars (e.g. standard error over clips) against the parameter."""
    fig = Figure(figsize=(width, 3.2), layout="constrained")
    axes = fig.subplots(1, len(metrics))
    axes = np.atleast_1d(axes)
    for k, (ax, (label, (mean, err))) in enumerate(zip(axes, metrics.items())):
        ax.errorbar(values, mean, yerr=err, marker="o", capsize=4, color=f"C{k}")
        if log_x:
            ax.set_xscale("log")
            ax.set_xticks(list(values), [str(v) for v in values])
            ax.minorticks_off()
        ax.set_xlabel(xlabel)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
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


__all__ = ["long_video_memory_figure", "sweep_figure", "tiers_figure", "working_memory_figure"]
