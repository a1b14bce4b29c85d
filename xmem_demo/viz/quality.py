"""Figures of time and quality: per-frame time, J&F, trade-offs, long-video runs."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from ._common import series, _index, rolling_median


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
