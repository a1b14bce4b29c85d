"""The long-video benchmark plot: memory and time per frame against the frame index."""

from __future__ import annotations

from pathlib import Path

import numpy as np

COLOURS = {"full": "tab:blue", "full-bf16": "tab:cyan", "no-lt": "tab:red", "official": "tab:gray"}


def rolling_median(x: np.ndarray, window: int) -> np.ndarray:
    if len(x) < window:
        return x
    from numpy.lib.stride_tricks import sliding_window_view

    med = np.median(sliding_window_view(x, window), axis=1)
    return np.concatenate([np.full(window - 1, np.nan), med])


def plot_series(series: dict, summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gpu = any(np.isfinite(np.asarray(s["gpu_peak_mb"], float)).any() for s in series.values() if s["frame"])
    fig, axes = plt.subplots(3, 1, figsize=(10, 11), sharex=True)
    ax_mem, ax_time, ax_el = axes
    window = 25
    for name, s in series.items():
        if not s["frame"] or name == "bound":
            continue
        f = np.asarray(s["frame"])
        colour = COLOURS.get(name)
        if gpu:
            ax_mem.plot(f, s["gpu_peak_mb"], label=f"{name} peak allocated", color=colour)
        else:
            ax_mem.plot(f, s["peak_rss_mb"], label=f"{name} peak RSS", color=colour)
            ax_mem.plot(f, s["rss_mb"], color=colour, lw=0.5, alpha=0.5)
        sec = np.asarray(s["seconds"], float) * 1000
        ax_time.plot(f, sec, color=colour, lw=0.3, alpha=0.25)
        ax_time.plot(f, rolling_median(sec, window), label=f"{name} (median of {window})", color=colour)
        ax_el.plot(f, s["working_elements"], color=colour, ls="--", label=f"{name} working")
        if np.max(s["long_term_elements"]) > 0:
            ax_el.plot(f, s["long_term_elements"], color=colour, label=f"{name} long-term")
    ref = summary["reference_frame"]
    for ax in axes:
        ax.axvline(ref, color="k", lw=0.5, ls=":")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    ax_mem.set_ylabel("GPU memory (MiB)" if gpu else "process memory (MiB)\nthick: peak RSS, thin: RSS")
    ax_time.set_ylabel("time per frame (ms)")
    ax_time.set_yscale("log")
    ax_el.set_ylabel("memory elements")
    ax_el.set_xlabel("frame index")
    info = summary["info"]
    h, w = info["working_size"]
    title = f"{info['source']['name']} at {h}x{w}, {info['frames_requested']} frames"
    for key, r in summary["ratios"].items():
        title += f"\n{key} time: {r['speedup_total_time']:.2f}x (median per frame {r['speedup_median_per_frame_ratio']:.2f}x)"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
