"""Figures that show what XMem's memory does, built from `FrameRecord`s only.

Every function returns a `matplotlib.figure.Figure` (never touches pyplot's global state,
so the app can call them from concurrent sessions; in a notebook the figure displays
itself). Inputs are the observability hook's payload (`FrameRecord`, or the dicts of
`FrameRecord.summary()`) and its events; nothing here reads the memory tiers directly.

Paper symbols (Cheng & Schwing, ECCV 2022) used in labels: r (a memory frame every r
frames), T_min / T_max (working-memory frames after / before consolidation), P
(prototypes per consolidation), L_max (long-term capacity), k (top-k), s (shrinkage),
e (selection), h (sensory hidden state).

Geometry: memory elements live on the stride-16 feature grid of the *padded* working
frame: `FrameRecord.geometry` / `AffinityProbe.geometry` (xmem_demo.geometry.FrameGeometry)
say how; figures take it as `geometry=`, and `feature_grid_shape`, `image_to_grid` convert
from a (frame size, working size) pair.

Modules: `memory` (occupancy, each tier apart, long videos, what working memory holds,
usage, prototypes), `attention` (grid maps, sensory memory, affinity, the full attention matrix W), `quality` (time, J&F,
parameter sweeps), `diagram` (XMem's parts with the paper's symbols, one part highlighted),
`animation` (masks played as an embedded MP4); `_common` the shared helpers. This package is the one home of the
figures: the app's and the notebooks' alike.
"""

from ._common import (  # noqa: F401
    STRIDE,
    FrameGeometry,
    series,
    object_series,
    rolling_median,
    feature_grid_shape,
    image_to_grid,
    png_bytes,
    overlay,
    overlay_strip,
    WORKING_COLOR,
    LONG_TERM_COLOR,
    SENSORY_COLOR,
    TOTAL_COLOR,
    FrameGetter,
)
from .memory import (  # noqa: F401
    occupancy_figure, usage_histogram, prototype_figure, tiers_figure, working_memory_figure, long_video_memory_figure,
)
from .memory import potentiation_figure  # noqa: F401
from .attention import grid_maps_figure, sensory_figure, affinity_figure  # noqa: F401
from .attention import AttentionMatrix, attention_matrix, attention_matrix_figure  # noqa: F401
from .quality import time_figure, metric_figure, sweep_figure  # noqa: F401
from .quality import elements_read, read_multiply_adds, read_cost_figure  # noqa: F401
from .diagram import PARTS, architecture_figure  # noqa: F401
from .animation import OverlayVideo, overlay_video  # noqa: F401
from .ablation import paired_difference_figure, running_mean_and_error  # noqa: F401  (paired differences over clips)

__all__ = [
    "series",
    "object_series",
    "rolling_median",
    "feature_grid_shape",
    "image_to_grid",
    "png_bytes",
    "overlay",
    "overlay_strip",
    "occupancy_figure",
    "usage_histogram",
    "prototype_figure",
    "potentiation_figure",
    "grid_maps_figure",
    "sensory_figure",
    "affinity_figure",
    "attention_matrix",
    "attention_matrix_figure",
    "AttentionMatrix",
    "time_figure",
    "metric_figure",
    "sweep_figure",
    "tiers_figure",
    "working_memory_figure",
    "long_video_memory_figure",
    "architecture_figure",
    "overlay_video",
    "OverlayVideo",
    "elements_read",
    "read_multiply_adds",
    "read_cost_figure",
    "paired_difference_figure",
    "running_mean_and_error",
]
