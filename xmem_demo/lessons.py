"""What the teaching notebooks (notebooks/00-07) share: set-up, the example clip, small runs.

Each notebook starts with

    from xmem_demo import lessons
    lessons.setup()                      # modest figure size for committed outputs
    model = lessons.load_model("auto")   # official weights if cached, else the mini model, and says which

so that the set-up lives here once. Each notebook also has a visible switch near its top,

    MODE = "class"   # "class": a lecture's pace; "full": the long runs (their cost is stated)
    CLASS = lessons.mode(MODE, class_runs="...", full_runs="...") == "class"

`mode` shows a banner saying which mode runs and what the other one does. Class mode is what
the test suite runs; both modes check the same claims. `scripts/run_notebooks.py --mode full`
sets XMEM_NOTEBOOK_MODE, which the banner reports when it overrides the cell. Figures, the
lessons' own included, are in `xmem_demo.viz`.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import torch

from .checkpoint import WeightsInfo
from .geometry import STRIDE, FrameGeometry
from .config import MemoryConfig
from .metrics import region_similarity
from .model import XMem
from .resources import EXAMPLE_CLIP, EXAMPLE_MASK, TEACHING_WEIGHTS

# The teaching network: a network of the new training recipe (step 364 of the CPU run in
# training_runs/mini-cpu/), shipped inside the package (xmem_demo/assets/weights/xmem-next-mini.pth)
# so that a pip install from git (Colab) has it too. Notebook 01 compares its spread attention with
# the offline default's one-hot attention. NOT the official XMem and not for segmentation.
TEACHING_NETWORK = TEACHING_WEIGHTS
NEXT_MINI = TEACHING_NETWORK  # its older name
FIGURE_DPI = 80  # modest PNGs: the notebooks are committed with their outputs
QUICK_ENV = "XMEM_NOTEBOOK_QUICK"  # older name of class mode (1 = class), still honoured
MODE_ENV = "XMEM_NOTEBOOK_MODE"  # "class" / "full": overrides the notebook's MODE cell (scripts/run_notebooks.py)
MODES = ("class", "full")


def setup(dpi: int = FIGURE_DPI) -> None:
    """Matplotlib defaults for the notebooks (call after `%matplotlib inline`)."""
    import matplotlib

    matplotlib.rcParams["figure.dpi"] = dpi


def _mode_override() -> str | None:
    chosen = os.environ.get(MODE_ENV, "").strip().lower()
    if chosen:
        if chosen not in MODES:
            raise ValueError(f"{MODE_ENV}={chosen!r}: use one of {', '.join(MODES)}")
        return chosen
    return "class" if os.environ.get(QUICK_ENV, "") == "1" else None


def mode(requested: str = "class", class_runs: str = "", full_runs: str = "") -> str:
    """The notebook's run mode ("class" or "full"), shown in a banner; returns the mode that runs.

    requested: the notebook's MODE cell. class_runs / full_runs: what each mode does here (e.g.
    "3,000 frames, about 1 min on 2 cores" / "10,000 frames, about 15 min"). XMEM_NOTEBOOK_MODE,
    when set, wins over the cell, and the banner says so.
    """
    from IPython.display import Markdown, display

    requested = requested.strip().lower()
    if requested not in MODES:
        raise ValueError(f"MODE = {requested!r}: use one of {', '.join(MODES)}")
    override = _mode_override()
    chosen = override or requested
    lines = [f"**Mode: {chosen}**" + (f" (set by {MODE_ENV}; the cell says {requested!r})" if override and override != requested else "")]
    if class_runs:
        lines.append(f"- class: {class_runs}" + (" ← running" if chosen == "class" else ""))
    if full_runs:
        lines.append(f"- full: {full_runs}" + (" ← running" if chosen == "full" else ""))
    if chosen == "class" and full_runs and not full_runs.lower().startswith("the same"):
        lines.append('\nSet `MODE = "full"` in this cell and rerun the notebook for the full runs.')
    display(Markdown("\n".join(lines)))
    return chosen


def quick() -> bool:
    """True in class mode as set from outside (XMEM_NOTEBOOK_MODE=class or XMEM_NOTEBOOK_QUICK=1);
    notebooks with a MODE cell use `mode(...)` instead."""
    return _mode_override() == "class"


def load_model_with_info(weights: str = "auto") -> tuple[XMem, WeightsInfo]:
    """`resolve_model(weights)`: (model, info), and a Markdown banner saying which model runs and why."""
    from IPython.display import Markdown, display

    from .weights import resolve_model

    model, info = resolve_model(weights)
    display(Markdown(("**Model:** " if info.official else "**⚠️ Model:** ") + info.notice))
    return model, info


def load_model(weights: str = "auto") -> XMem:
    """The network of `load_model_with_info` (the banner is shown the same way)."""
    return load_model_with_info(weights)[0]


def judo_clip(verbose: bool = True) -> tuple[list[np.ndarray], np.ndarray]:
    """The bundled example: its 62 small frames (kept in memory) and the index mask of frame 0."""
    from .video import open_video, read_index_mask

    with open_video(EXAMPLE_CLIP) as video:
        frames = [video.get(t) for t in range(len(video))]
        info = video.info.describe()
    first_mask = read_index_mask(EXAMPLE_MASK)
    if verbose:
        print(info, "| objects in the first mask:", [int(v) for v in np.unique(first_mask) if v])
    return frames, first_mask


def run_clip(
    model: XMem, frames: np.ndarray | Sequence[np.ndarray], first_mask: np.ndarray, config: MemoryConfig = MemoryConfig()
) -> tuple[np.ndarray, list]:
    """Segment frames from the mask of frame 0 at their own size: (masks T x H x W, records)."""
    from .pipeline import ArraySource, track

    results = list(track(model, ArraySource(frames), {0: first_mask}, config, working_size=None))
    return np.stack([r.mask for r in results]), [r.record for r in results]


def j_per_frame(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """J (IoU) per frame, averaged over the objects of the first ground-truth frame."""
    ids = sorted(set(np.unique(gt[0]).tolist()) - {0})
    return np.array([np.mean([region_similarity(p == k, g == k) for k in ids]) for p, g in zip(pred, gt)])


def encode_key(
    model: XMem, frame: np.ndarray, working_size: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """frame H x W x 3 uint8 -> key k, shrinkage s, selection e (C x rows x cols) of the image the
    network sees (`session.prepare`, the session's own preprocessing; None: the frame's size)."""
    from .session import prepare

    image, _geometry = prepare(frame, working_size)
    with torch.inference_mode():
        key, shrinkage, selection, _ = model.encode_key(image, need_shrinkage=True, need_selection=True)
    return key[0], shrinkage[0], selection[0]


def attention_summary(affinity: np.ndarray | torch.Tensor) -> dict[str, float]:
    """How spread a readout's attention is. affinity: memory elements x queries (columns sum to 1).

    largest: median over queries of the largest weight (1.0 = one-hot: the query copies one
    element); effective: median of 1 / sum(w^2), the number of elements a query effectively
    averages (1 = one-hot, k = uniform over its top k).
    """
    w = torch.as_tensor(affinity, dtype=torch.float64)
    return {
        "largest": float(w.max(0).values.median()),
        "effective": float((1 / (w**2).sum(0)).median()),
    }


def mean_and_error(values: Sequence[float] | np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and its standard error (sample std / sqrt(n)) along `axis`."""
    v = np.asarray(values, dtype=float)
    n = v.shape[axis]
    return v.mean(axis), (v.std(axis, ddof=1) / np.sqrt(n) if n > 1 else np.zeros_like(v.mean(axis)))


def mask_on_grid(mask: np.ndarray, geometry: FrameGeometry) -> np.ndarray:
    """How much of each stride-16 grid cell's patch a mask covers: rows x cols shares in [0, 1].

    mask: H x W (nonzero = inside) at the frame size of `geometry` (e.g. `AffinityProbe.geometry`).
    It is resized to the working size (by area, so a share stays a share of the area) and zero-padded
    as the network pads frames, so cell (row, col) here is memory element `row * cols + col` of that frame. Notebook 01
    uses it to ask whether a query cell, or the memory element it reads, lies on the object.
    """
    from PIL import Image

    m = (np.asarray(mask) > 0).astype(np.float32)
    if m.shape != tuple(geometry.frame_hw):
        raise ValueError(f"mask of shape {m.shape}; this geometry's frames are {tuple(geometry.frame_hw)}")
    h, w = geometry.working_hw
    if m.shape != (h, w):
        m = np.asarray(Image.fromarray(m, mode="F").resize((w, h), Image.Resampling.BOX))
    left, right, top, bottom = geometry.pad
    rows, cols = geometry.grid_hw
    padded = np.pad(m, ((top, bottom), (left, right)))
    return padded.reshape(rows, STRIDE, cols, STRIDE).mean(axis=(1, 3))


def jpeg(fig, quality: int = 80, dpi: float | None = None):
    """A figure as an inline JPEG (an IPython `Image`; as a cell's last value it shows itself).

    For figures that are mostly photographs (frames under a heat map): the JPEG takes about a
    quarter of the PNG's bytes, and the notebooks are committed with their outputs. Keep line
    plots and sparse matrices as PNG (sharp edges). dpi: default the notebooks' figure dpi.
    """
    import io

    from IPython.display import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="jpeg", dpi=dpi or FIGURE_DPI, bbox_inches="tight", pil_kwargs={"quality": quality})
    return Image(data=buffer.getvalue(), format="jpeg")


# ---- notebook 06: clicks on the image itself (the logic lives with the other click code) -----------
from .clicks.annotator import DISPLAY_WIDTH, ClickAnnotator  # noqa: E402  (the lessons' name for it)


def compact_figures(colors: int = 256) -> bool:
    """Show matplotlib figures as palette PNGs (at most `colors` colours) from now on in this notebook.

    The notebooks are committed with their outputs, and matplotlib's RGBA PNGs of line plots take
    about three times the bytes of the same image with a palette; for plots and colour maps
    (matplotlib's have 256 entries) the difference is not visible. Photo-like figures belong in
    `jpeg`. Call after `%matplotlib inline` and `setup()`. Returns False outside IPython.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    from matplotlib.figure import Figure

    from .viz import png_bytes

    def palette_png(fig: Figure) -> bytes:
        return png_bytes(fig, dpi=FIGURE_DPI, colors=colors, bbox_inches="tight", facecolor="white")

    shell.display_formatter.formatters["image/png"].for_type(Figure, palette_png)
    return True


__all__ = [
    "compact_figures",
    "ClickAnnotator",
    "DISPLAY_WIDTH",
    "FIGURE_DPI",
    "NEXT_MINI",
    "TEACHING_NETWORK",
    "MODES",
    "MODE_ENV",
    "QUICK_ENV",
    "attention_summary",
    "encode_key",
    "j_per_frame",
    "jpeg",
    "judo_clip",
    "load_model",
    "load_model_with_info",
    "mask_on_grid",
    "mean_and_error",
    "mode",
    "quick",
    "run_clip",
    "setup",
]
