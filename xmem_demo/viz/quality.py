"""Figures of time and quality: per-frame time, J&F, a parameter sweep with error bars."""

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
