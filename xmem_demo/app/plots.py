"""The live memory plot: bytes held by each memory tier over the frames processed.

Built on `matplotlib.figure.Figure` (not pyplot), so concurrent visitors never share a
global figure.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from .limits import MAX_PLOT_POINTS

TIERS = (  # key in FrameRecord.memory_bytes, label, colour
    ("sensory", "sensory (h)", "#2ca02c"),
    ("working", "working (T_min..T_max frames)", "#1f77b4"),
    ("long_term", "long-term (≤ L_max)", "#d62728"),
)


def byte_label(value: float, _pos=None) -> str:
    """4096 -> '4 KiB' (tick labels of the log axis)."""
    for factor, name in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if value >= factor:
            return f"{value / factor:.3g} {name}"
    return f"{value:.3g} B"


def memory_figure(trace: Sequence[dict], total: int | None = None) -> Figure:
    """trace: FrameRecord.summary() rows (with 'direction'), in processing order.

    total: frames the run processes (its frame range, both passes), so the x axis spans the
    run, not the whole clip. The y axis is logarithmic: the tiers differ by orders of
    magnitude (a few KiB of sensory memory, MiB of working memory, a long-term memory that
    starts with P prototypes), and each stays visible on it.
    """
    fig = Figure(figsize=(8.0, 2.8), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlabel("frames processed")
    ax.grid(alpha=0.3)
    if not trace:
        ax.set_ylabel("memory")
        ax.set_xlim(0, max(total or 1, 1))
        ax.set_title("Memory per tier: press Track to fill", fontsize=10)
        return fig
    step = max(1, len(trace) // MAX_PLOT_POINTS)
    rows = list(trace[::step])
    if rows[-1] is not trace[-1]:
        rows.append(trace[-1])
    x = np.array([i * step for i in range(len(rows))])
    x[-1] = len(trace) - 1
    for key, label, color in TIERS:
        y = np.array([float(r["memory_bytes"].get(key, 0)) for r in rows])
        ax.plot(x, np.where(y > 0, y, np.nan), label=label, color=color, linewidth=1.8)  # 0: not drawn on a log axis
    events = [i for i, r in enumerate(trace) if r.get("consolidation") and r["memory_bytes"].get("long_term", 0) > 0]
    if events:
        lt = [trace[i]["memory_bytes"]["long_term"] for i in events]
        ax.scatter(events, lt, marker="v", color="#d62728", s=18, zorder=3, label="consolidation")
    back = [i for i, r in enumerate(trace) if r.get("direction") == "backward"]
    if back:
        ax.axvspan(back[0], back[-1], color="0.9", zorder=0, label="backward pass")
    ax.set_yscale("log", base=4)
    ax.yaxis.set_major_formatter(FuncFormatter(byte_label))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel("bytes (log scale)")
    ax.set_xlim(0, max(total or len(trace), len(trace)))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    last = trace[-1]
    ax.set_title(
        f"Memory per tier · working {last['working_size']} elements, long-term {last['long_term_size']}",
        fontsize=10,
    )
    return fig
