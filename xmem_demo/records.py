"""What the inference loop reports about each frame: the observability hook's payload.

`InferenceSession.add_hook(fn)` calls `fn(record)` after every `step` with a
`FrameRecord`. Records hold plain Python / NumPy data (no live tensors), so notebooks and
the app can keep, plot or serialise them without touching the memory internals.
Every hook receives the same record: a hook must not change it (keep a changed copy,
`dataclasses.replace(record, ...)`, as `RecordCollector(keep_arrays=False)` does).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .geometry import FrameGeometry


def _host(x: Any) -> Any:
    """A tensor as a NumPy array on the host (anything else unchanged)."""
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x


@dataclass
class ConsolidationEvent:
    """Working memory reached T_max frames and was consolidated into long-term memory.

    Made by `LongTermMemory.consolidate`. Inside the memory the fields marked (array) are
    torch tensors on the session's device; hooks receive `to_host()`'s copy, with NumPy
    arrays and lists, made only when a hook listens (no device sync otherwise).
    """

    working_size_before: int
    working_size_after: int
    long_term_size_before: int  # after any forgetting on the same frame
    long_term_size_after: int
    num_candidates: int
    group_kinds: list[str]  # per object group: full / partial / none / none_but_sieved
    valid_prototypes: list[int | None]  # per object group
    prototype_indices: list[int]  # (array) candidate indices chosen as prototypes, by descending usage
    prototype_origins: list[tuple[int, int]]  # (array, P x 2) (frame index, pixel index) of each prototype
    candidate_usage: np.ndarray  # (array) usage of every candidate when prototypes were chosen
    usage_margin: float  # gap between the last chosen and the first unchosen usage

    def to_host(self) -> "ConsolidationEvent":
        """A copy with plain data: NumPy usage, lists of indices and of (frame, pixel) origins."""
        origins = _host(self.prototype_origins)
        return replace(
            self,
            prototype_indices=[int(i) for i in _host(self.prototype_indices)],
            prototype_origins=[(int(f), int(p)) for f, p in origins],
            candidate_usage=_host(self.candidate_usage),
        )


@dataclass
class ForgettingEvent:
    """Long-term memory was full (>= L_max - P) and its least-used elements were dropped.

    Made by `LongTermMemory.forget` / `forget_oldest`; (array) fields as in ConsolidationEvent.
    """

    long_term_size_before: int
    target_size: int
    requested: int
    removed: int
    usage_margin: float
    usage_before: np.ndarray  # (array) usage of every element before forgetting
    kept: np.ndarray  # (array) bool per element before forgetting

    def to_host(self) -> "ForgettingEvent":
        return replace(self, usage_before=_host(self.usage_before), kept=_host(self.kept))


@dataclass
class AffinityProbe:
    """Where chosen query pixels looked in memory on this frame (object group 0, after top-k).

    `affinity[i, j]` is the weight query pixel i gave memory element j; `tier[j]` is 0 for
    long-term and 1 for working memory; `origin_frame[j]` / `origin_pixel[j]` say which
    video frame and which stride-16 pixel element j came from (for prototypes: the
    candidate they were built around).
    """

    query_pixels: list[tuple[int, int]]  # (row, col) on the stride-16 feature grid
    feature_shape: tuple[int, int]
    affinity: np.ndarray  # queries x elements
    tier: np.ndarray
    origin_frame: np.ndarray
    origin_pixel: np.ndarray
    geometry: FrameGeometry | None = None  # the video's frame/working size and padding (grid <-> pixels)


@dataclass
class FrameRecord:
    """State after `step(t)`.

    Sensory memory summary (the per-object hidden state h, Sec. 3.2; C^h channels on the
    stride-16 grid of the padded working frame), one entry per object in `object_ids` order,
    taken after this step's updates (decoder and/or deep update):

    * `sensory_norm[k]`: mean |h| of object k over channels and grid cells;
    * `sensory_change[k]`: mean |h_t - h_{t-1}| of object k over channels and grid cells,
      how much this step rewrote h. 0.0 where there is no previous state to compare with:
      on the first recorded frame (or after frames with no hook), and for an object added
      on this frame (its h starts from zero on the frame it is added);
    * `sensory_map`: objects x rows x cols float32 array, the channel mean of |h| per grid
      cell (its mean over cells is `sensory_norm`); None when there are no objects yet.
      Like `affinity` it is an array: `RecordCollector(keep_arrays=False)` drops it and
      `summary()` leaves it out.

    All three are empty / None before the first object is added.
    """

    index: int  # t, frames since the session started
    object_ids: list[int]  # label id of channel k+1 of the returned probabilities
    mask_given: bool
    segmented: bool  # memory was read and the decoder ran
    memory_frame: bool  # a value was encoded and added to working memory
    deep_update: bool  # the value encoder refreshed the sensory memory
    sensory_updated_by_decoder: bool
    working_size: int  # elements (keys) in working memory
    working_frames: float  # working_size / HW
    working_group_sizes: list[int]
    long_term_size: int
    long_term_group_sizes: list[int]
    sensory_shape: tuple[int, ...]
    memory_bytes: dict[str, int]  # bytes held per tier: sensory, working, long_term
    elements_per_frame: int  # HW at stride 16
    seconds: float  # wall time of the step
    sensory_norm: list[float] = field(default_factory=list)  # per object: mean |h|
    sensory_change: list[float] = field(default_factory=list)  # per object: mean |h_t - h_{t-1}|
    sensory_map: np.ndarray | None = None  # objects x rows x cols: channel-mean |h| (an array)
    consolidation: ConsolidationEvent | None = None
    forgetting: ForgettingEvent | None = None
    affinity: AffinityProbe | None = None
    geometry: FrameGeometry | None = None  # frame size, working size, padding: grid cell <-> frame pixel

    @property
    def num_objects(self) -> int:
        return len(self.object_ids)

    def summary(self) -> dict[str, Any]:
        """A flat, JSON-friendly dict (no arrays), e.g. for a CSV or a trace file."""
        arrays = ("consolidation", "forgetting", "affinity", "sensory_map", "geometry")
        d = {k: v for k, v in asdict(self).items() if k not in arrays}
        d["sensory_shape"] = list(self.sensory_shape)
        d["consolidation"] = self.consolidation is not None
        d["forgetting"] = self.forgetting is not None
        return d


FrameHook = Callable[[FrameRecord], None]


@dataclass
class RecordCollector:
    """A hook that keeps every record (fine for clips; for 10k frames keep summaries only)."""

    keep_arrays: bool = True
    records: list[FrameRecord] = field(default_factory=list)

    def __call__(self, record: FrameRecord) -> None:
        if not self.keep_arrays:
            # A slimmer copy: every hook sees the same record, and no hook may change it.
            record = replace(record, affinity=None, sensory_map=None)
        self.records.append(record)

    def series(self, name: str) -> np.ndarray:
        return np.array([getattr(r, name) for r in self.records])


def _flat_row(row: dict[str, Any]) -> dict[str, Any]:
    """One trace row as CSV cells: nested dicts become `key_sub` columns, lists JSON text."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out.update({f"{key}_{k}": v for k, v in value.items()})
        elif isinstance(value, (list, tuple)):
            out[key] = json.dumps(list(value))
        else:
            out[key] = value
    return out


def trace_csv(trace: Sequence[dict[str, Any]]) -> str:
    """A memory trace (one dict per frame) as CSV text, columns in order of first appearance; '' if empty."""
    rows = [_flat_row(r) for r in trace]
    if not rows:
        return ""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
