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

    Prototype selection (Sec. 3.4) takes the P candidates of highest usage with `torch.topk`.
    Where candidates tie at the threshold usage (the P-th highest), `topk`'s order decides
    which of them become prototypes, as in the official code: `tied_at_threshold` and
    `chosen_from_tie` say how many (properties of the host copy).

    Memory potentiation: prototype j's value is sum_i w_ij v_i over the candidates i, with
    w_ij = softmax_i S(k_i, q_j) (Eq. 3, the prototype's key as the query, no top-k); its
    shrinkage likewise. The `potentiation_*` fields keep, per prototype, the largest of those
    weights (the first object group's, which also mix the shrinkage): None when not recorded.
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
    # Potentiation, per prototype j (rows in prototype order), its m = POTENTIATION_TOP largest w_ij:
    potentiation_indices: np.ndarray | None = None  # (array, P x m) candidate indices i, descending w (-1: none)
    potentiation_weights: np.ndarray | None = None  # (array, P x m) those w_ij (a row sums to <= 1)
    potentiation_origins: np.ndarray | None = None  # (array, P x m x 2) (frame index, pixel index) of those i
    potentiation_effective: np.ndarray | None = None  # (array, P) effective number mixed, 1 / sum_i w_ij^2

    def to_host(self) -> "ConsolidationEvent":
        """A copy with plain data: NumPy usage, lists of indices and of (frame, pixel) origins."""
        origins = _host(self.prototype_origins)
        return replace(
            self,
            prototype_indices=[int(i) for i in _host(self.prototype_indices)],
            prototype_origins=[(int(f), int(p)) for f, p in origins],
            candidate_usage=_host(self.candidate_usage),
            potentiation_indices=_host(self.potentiation_indices),
            potentiation_weights=_host(self.potentiation_weights),
            potentiation_origins=_host(self.potentiation_origins),
            potentiation_effective=_host(self.potentiation_effective),
        )

    # ---- the tie report (computed from the host copy's arrays) ----------------------------
    @property
    def threshold_usage(self) -> float | None:
        """Usage of the least-used prototype (the P-th highest usage); None without prototypes."""
        chosen = _chosen_usage(self)
        return float(chosen.min()) if len(chosen) else None

    @property
    def tied_at_threshold(self) -> int:
        """Candidates whose usage equals the threshold exactly (chosen or not)."""
        threshold = self.threshold_usage
        return 0 if threshold is None else int((np.asarray(_host(self.candidate_usage)) == threshold).sum())

    @property
    def chosen_from_tie(self) -> int:
        """Prototypes taken from the tie at the threshold. When fewer than `tied_at_threshold`,
        `torch.topk`'s order, not usage, chose which of the tied candidates became prototypes."""
        threshold = self.threshold_usage
        return 0 if threshold is None else int((_chosen_usage(self) == threshold).sum())

    @property
    def zero_usage(self) -> int:
        """Candidates that received no attention at all (usage exactly 0)."""
        return int((np.asarray(_host(self.candidate_usage)) == 0).sum())


def _chosen_usage(event: ConsolidationEvent) -> np.ndarray:
    usage = np.asarray(_host(event.candidate_usage))
    return usage[np.asarray(_host(event.prototype_indices), dtype=np.int64)]


@dataclass
class ForgettingEvent:
    """Long-term memory was full (>= L_max - P) and its least-used elements were dropped.

    Made by `LongTermMemory.forget` / `forget_oldest`; (array) fields as in ConsolidationEvent.
    Every element whose usage equals the threshold (the `requested`-th smallest) goes, as in
    the official code, so `removed` can exceed `requested`: `removed_beyond_request` of them,
    all tied at `threshold_usage` (properties of the host copy). Forgetting without usage
    counts (this kit's first-in-first-out fallback) has no usage: `usage_before` is empty.
    """

    long_term_size_before: int
    target_size: int
    requested: int
    removed: int
    usage_margin: float
    usage_before: np.ndarray  # (array) usage of every element before forgetting
    kept: np.ndarray  # (array) bool per element before forgetting
    origins: np.ndarray | None = None  # (array, N x 2) (frame index, pixel index) of every element before forgetting

    def to_host(self) -> "ForgettingEvent":
        return replace(self, usage_before=_host(self.usage_before), kept=_host(self.kept), origins=_host(self.origins))

    @property
    def threshold_usage(self) -> float | None:
        """Usage of the most-used forgotten element; None when usage was not counted (FIFO)."""
        usage = np.asarray(_host(self.usage_before))
        forgotten = ~np.asarray(_host(self.kept), bool)
        return float(usage[forgotten].max()) if len(usage) and forgotten.any() else None

    @property
    def tied_at_threshold(self) -> int:
        """Elements whose usage equals the threshold exactly (all of them were forgotten)."""
        threshold = self.threshold_usage
        return 0 if threshold is None else int((np.asarray(_host(self.usage_before)) == threshold).sum())

    @property
    def removed_beyond_request(self) -> int:
        """removed - requested: elements that went only because they tie at the threshold."""
        return self.removed - self.requested


def tie_report(records: Sequence["FrameRecord"]) -> list[dict[str, Any]]:
    """One row per consolidation and forgetting step: where ties at the threshold usage decided.

    consolidation rows: frame, candidates, prototypes, threshold usage, candidates tied at it,
    prototypes chosen from the tie (by `torch.topk`'s order), candidates with zero usage.
    forgetting rows: frame, requested, removed, threshold usage, elements tied at it, removed
    beyond the request (ties). From the records' host copies.
    """
    rows: list[dict[str, Any]] = []
    for r in records:
        f, c = r.forgetting, r.consolidation
        if f is not None:  # forgetting comes first on its frame
            rows.append({"frame": r.index, "event": "forgetting", "requested": f.requested, "removed": f.removed,
                         "threshold": f.threshold_usage, "tied": f.tied_at_threshold,
                         "removed_beyond_request": f.removed_beyond_request})
        if c is not None:
            rows.append({"frame": r.index, "event": "consolidation", "candidates": c.num_candidates,
                         "prototypes": len(c.prototype_indices), "threshold": c.threshold_usage,
                         "tied": c.tied_at_threshold, "chosen_from_tie": c.chosen_from_tie,
                         "zero_usage": c.zero_usage})
    return rows


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
