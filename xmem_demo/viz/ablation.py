"""How many clips an ablation needs: the running mean of paired differences, with its error band.

An ablation runs the same clips twice (e.g. with and without the sensory memory's deep update)
and compares them clip by clip: d_i = J&F_i(A) - J&F_i(B). After n clips the estimate is the
mean of d_1..d_n and its standard error SE_n = std(d_1..d_n) / sqrt(n). The figure draws both
as n grows, so a reader sees when the band leaves zero (the difference is resolved) and how
wild the first few clips are (why one clip is an anecdote).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure


def running_mean_and_error(differences: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, mean of the first n values, their standard error) for n = 2 .. len(differences)."""
    d = np.asarray(differences, dtype=float).ravel()
    if d.size < 2:
        raise ValueError(f"need at least 2 paired differences, got {d.size}")
    n = np.arange(2, d.size + 1)
    mean = np.array([d[:k].mean() for k in n])
    error = np.array([d[:k].std(ddof=1) / np.sqrt(k) for k in n])
    return n, mean, error


def paired_difference_figure(
    differences: Mapping[str, Sequence[float] | np.ndarray],
    z: float = 2.0,
    ylabel: str = "mean paired difference",
    title: str | None = None,
) -> Figure:
    """One curve per ablation: the running mean of its paired differences over the first n clips,
    with a band of +- z standard errors; a dashed line at 0 (no difference)."""
    if not differences:
        raise ValueError("give at least one series of paired differences")
    fig = Figure(figsize=(8, 3), layout="constrained")
    ax = fig.add_subplot()
    for label, d in differences.items():
        n, mean, error = running_mean_and_error(d)
        line, = ax.plot(n, mean, lw=1.6, marker="o", ms=2.5, label=label)
        ax.fill_between(n, mean - z * error, mean + z * error, color=line.get_color(), alpha=0.2, lw=0)
    ax.axhline(0.0, color="black", lw=0.8, ls="--")
    ax.set_xlabel("clips so far (n)")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, loc="best", title=f"band: mean +- {z:g} SE", title_fontsize=8)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


__all__ = ["paired_difference_figure", "running_mean_and_error"]
