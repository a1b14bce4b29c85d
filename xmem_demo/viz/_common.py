"""Shared pieces of the figures: colours, reading FrameRecords (or their summary dicts),
the feature-grid geometry (delegated to xmem_demo.geometry), masks drawn on frames."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..geometry import STRIDE, FrameGeometry  # noqa: F401  (STRIDE re-exported)
from ..palette import overlay as palette_overlay

WORKING_COLOR = "#1f77b4"
LONG_TERM_COLOR = "#d62728"
SENSORY_COLOR = "#2ca02c"
TOTAL_COLOR = "#333333"

FrameGetter = Callable[[int], np.ndarray]


# ---- small helpers ---------------------------------------------------------------------------
def byte_label(value: float) -> str:
    """4096 -> '4 KiB' (tick labels of a log axis of bytes)."""
    for factor, name in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if value >= factor:
            return f"{value / factor:.3g} {name}"
    return f"{value:.3g} B"


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
# Figures take the FrameGeometry a FrameRecord / AffinityProbe carries (`geometry=`). The two
# (frame_hw, working_size) shortcuts below serve the notebooks, which pick grid cells before any
# record exists; everything else asks FrameGeometry itself.
def _geometry(frame_hw: tuple[int, int] | None, working_size: int | None,
              geometry: FrameGeometry | None = None) -> FrameGeometry:
    if geometry is not None:
        return geometry
    if frame_hw is None:
        raise ValueError("give frame_hw (and working_size), or a FrameGeometry (FrameRecord.geometry)")
    return FrameGeometry.for_frame(frame_hw, working_size)


def feature_grid_shape(frame_hw: tuple[int, int], working_size: int | None = None) -> tuple[int, int]:
    """(rows, cols) of the stride-16 grid: one memory element per cell per memory frame."""
    return FrameGeometry.for_frame(frame_hw, working_size).grid_hw


def image_to_grid(y: float, x: float, frame_hw: tuple[int, int], working_size: int | None = None) -> tuple[int, int]:
    """The grid cell (row, col) that frame pixel (y, x) falls into (for `session.set_probe`)."""
    return FrameGeometry.for_frame(frame_hw, working_size).image_to_grid(y, x)


def png_bytes(fig: Figure, dpi: float | None = None, colors: int | None = None, **savefig_options: Any) -> bytes:
    """The figure as PNG bytes, e.g. for an `ipywidgets.Image` that a slider redraws.

    colors: a palette PNG of at most that many colours (about a third of the bytes for plots and
    line art; the committed notebooks use it). savefig_options go to `Figure.savefig`.
    """
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi if dpi is not None else fig.dpi, **savefig_options)
    if colors is None:
        return buffer.getvalue()
    from PIL import Image

    buffer.seek(0)
    palette = Image.open(buffer).convert("RGB").quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()


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


