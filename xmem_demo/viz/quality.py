"""Figures of cost and quality: per-frame time, the memory read's counted cost (elements read,
multiply-adds), J&F, a parameter sweep with error bars."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from ._common import series, _get, _index, rolling_median


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
    smooth: int = 1,
    width: float = 8.0,
) -> Figure:
    """Per-frame curves (e.g. IoU of two configurations), with optional frame marks.

    smooth > 1: each curve is drawn faint, with its rolling median over `smooth` frames bold
    (long runs, where a frame-by-frame curve is a solid band)."""
    fig = Figure(figsize=(width, 3), layout="constrained")
    ax = fig.add_subplot()
    for k, (label, y) in enumerate(values.items()):
        y = np.asarray(y, dtype=float)
        if smooth > 1:
            ax.plot(np.arange(len(y)), y, lw=0.5, alpha=0.25, color=f"C{k}")
            ax.plot(np.arange(len(y)), rolling_median(y, smooth), lw=1.6, color=f"C{k}",
                    label=f"{label} (rolling median of {smooth})")
        else:
            ax.plot(np.arange(len(y)), y, lw=1.5, color=f"C{k}", label=label)
    for k, (label, frames) in enumerate((marks or {}).items()):
        for j, t in enumerate(frames):
            ax.axvline(t, color=f"C{k + len(values)}", lw=1.0, ls="--", label=label if j == 0 else None)
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


# ---- the memory read's cost, counted (independent of the machine and its load) ---------------------
def elements_read(records: Sequence[Any]) -> np.ndarray:
    """Memory elements each query pixel is compared with on each frame: the N of Eq. 3.

    A frame reads memory at the start of its step, before it writes anything, so it finds what
    the previous step left: working + long-term elements of the previous record (after that
    step's memory frame, consolidation and forgetting). 0 on frames that read no memory (the
    annotated first frame). `records` must be consecutive frames (a RecordCollector's list).
    """
    index = _index(records)
    if len(index) and np.any(np.diff(index) != 1):
        raise ValueError("elements_read needs the records of consecutive frames (one per step, none skipped)")
    total = series(records, "working_size") + series(records, "long_term_size")
    before = np.concatenate([[0], total[:-1]]).astype(np.int64)
    segmented = np.array([bool(_get(r, "segmented")) for r in records], dtype=bool)
    return np.where(segmented, before, 0)


def read_multiply_adds(elements: np.ndarray | int, hw: int, key_dim: int, value_dim: int, top_k: int,
                       num_objects: int = 1) -> np.ndarray:
    """Multiply-adds of one memory read with N = `elements` (the arrangement of memory/fast_read.py).

    * similarity (Eq. 3 expanded): two HW x C^k by C^k x N matrix products (sum_c e k^2 and
      sum_c e k q), 2 HW N C^k; this is the part that grows with memory;
    * readout: each query's weighted sum of the top-k values it kept, HW min(k, N) C^v per
      object (the sparse product reads only those rows).
    Element-wise terms (the query's own sum_c e q^2, the shrinkage, top-k's comparisons, the
    softmax) are O(HW N) or less and left out.
    """
    n = np.asarray(elements, dtype=np.int64)
    return 2 * hw * n * key_dim + hw * np.minimum(top_k, n) * value_dim * num_objects


def read_cost_figure(
    runs: Mapping[str, Sequence[Any]],
    hw: int,
    key_dim: int,
    value_dim: int,
    top_k: int,
    length: int | None = None,
    bound: float | None = None,
    network_multiply_adds: float | None = None,
    num_objects: int = 1,
    title: str | None = None,
    width: float = 11.0,
) -> Figure:
    """Elements read per frame (left axis, log) and the read's multiply-adds (right axis), per run.

    A run shorter than `length` is continued as a dotted straight line fitted to it (memory
    without long-term memory grows by HW every r frames). `bound`: the most elements memory
    may hold (T_max HW + L_max), dashed. `network_multiply_adds`: the network's own cost per
    frame (e.g. counted with torch.utils.flop_counter), drawn where the read would cost as much.
    """
    fig = Figure(figsize=(width, 4.2), layout="constrained")
    ax = fig.add_subplot()
    slope_macs = 2 * hw * key_dim  # multiply-adds per element read
    fixed = hw * top_k * value_dim * num_objects  # the readout, once N >= k

    def to_macs(n):
        return (slope_macs * np.asarray(n, dtype=float) + fixed) / 1e6

    def to_elements(m):
        return (np.asarray(m, dtype=float) * 1e6 - fixed) / slope_macs

    for k, (label, records) in enumerate(runs.items()):
        if len(records) == 0:
            continue
        x = _index(records)
        n = elements_read(records)
        ax.plot(x, np.maximum(n, 1), color=f"C{k}", lw=1.5,
                label=f"{label} (frame {x[-1]:,}: {n[-1]:,} elements, {to_macs(n[-1]):.1f} M multiply-adds)")
        if length is not None and x[-1] + 1 < length and len(x) > 10:
            slope, offset = np.polyfit(x[1:], n[1:], 1)
            xs = np.array([x[-1], length - 1])
            end = slope * xs[-1] + offset
            ax.plot(xs, slope * xs + offset, color=f"C{k}", lw=1.2, ls=":",
                    label=f"{label}, extrapolated (frame {length - 1:,}: {end:,.0f} elements, {to_macs(end):.0f} M)")
    if bound is not None:
        ax.axhline(bound, color="black", lw=1.2, ls="--", label=f"bound T_max·HW + L_max = {bound:,.0f} elements")
    if network_multiply_adds is not None:
        ax.axhline(to_elements(network_multiply_adds / 1e6), color="0.5", lw=1.0, ls="-.",
                   label=f"where the read costs as much as the network ({network_multiply_adds / 1e6:.0f} M multiply-adds per frame)")
    ax.set_yscale("log")
    smallest = [int(n[n > 0].min()) for n in (elements_read(r) for r in runs.values() if len(r)) if (n > 0).any()]
    ax.set_ylim(bottom=max(1.0, min(smallest, default=2) / 2))  # frame 0 reads nothing: not drawn down to 1
    ax.set_xlabel("frame t")
    ax.set_ylabel("elements read per frame (N, log)")
    right = ax.secondary_yaxis("right", functions=(to_macs, to_elements))
    right.set_ylabel("read: multiply-adds (millions)")
    ax.grid(alpha=0.3, which="both")
    if ax.get_lines():  # below the axes: the curves fill the upper left
        ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    ax.set_title(title or "the memory read's cost per frame, counted (the same on any machine)", fontsize=10)
    return fig
