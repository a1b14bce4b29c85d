"""The live memory plot: bytes held by each memory tier over the frames processed.

The figure is the library's `viz.occupancy_figure` (one occupancy figure for the notebooks
and the app), in bytes on a log axis, with what only a run in the app has: the x axis counts
frames processed in both passes (a backward pass revisits frame indices in reverse), the
backward pass shaded, the axis spanning the whole run while it fills.

Built on `matplotlib.figure.Figure` (not pyplot), so concurrent visitors never share a
global figure.
"""

from __future__ import annotations

from typing import Sequence

from matplotlib.figure import Figure

from ...viz import occupancy_figure
from ..limits import MAX_PLOT_POINTS


def processing_order(trace: Sequence[dict], max_points: int = MAX_PLOT_POINTS) -> list[dict]:
    """The trace rows with `index` = their position in processing order, at most ~max_points of
    them (rows with a consolidation or forgetting, and the last row, are always kept)."""
    step = max(1, len(trace) // max_points)
    return [
        {**row, "index": i}
        for i, row in enumerate(trace)
        if i % step == 0 or i == len(trace) - 1 or row.get("consolidation") or row.get("forgetting")
    ]


def memory_figure(trace: Sequence[dict], total: int | None = None) -> Figure:
    """trace: FrameRecord.summary() rows (with 'direction'), in processing order.

    total: frames the run processes (its frame range, both passes), so the x axis spans the
    run, not the whole clip.
    """
    fig = Figure(figsize=(8.0, 2.8), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    rows = processing_order(trace)
    occupancy_figure(rows, unit="bytes", log=True, ax=ax, legend=False)
    ax.set_xlabel("frames processed")
    if not trace:
        ax.set_ylabel("memory")
        ax.set_xlim(0, max(total or 1, 1))
        ax.set_title("Memory per tier: press Track to fill", fontsize=10)
        return fig
    back = [row["index"] for row in rows if row.get("direction") == "backward"]
    if back:
        ax.axvspan(back[0], back[-1], color="0.9", zorder=0, label="backward pass")
    ax.set_xlim(0, max(total or len(trace), len(trace)))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    last = trace[-1]
    ax.set_title(
        f"Memory per tier · working {last['working_size']} elements, long-term {last['long_term_size']}",
        fontsize=10,
    )
    return fig
