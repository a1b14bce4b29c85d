"""Live tracking: XMem on frames as they arrive, one `InferenceSession.step` per frame.

XMem is online (Sec. 3): frame t needs only frames before it, so a camera can be tracked
as it films. What live tracking adds to the offline loop:

* a **target** given on one frozen frame (`start`), corrected later on another one
  (`correct`, memory kept) or re-seeded with empty memory (`reset_memory`);
* a **frame budget**: the processing size (short side inside the network) is chosen so
  that one step fits 1 / target_fps seconds on this machine (`choose_processing_size`);
  frames arriving faster are dropped by the source (newest wins, see frames.py);
* **bounds**: frames are capped to `max_side` pixels and fixed to the size of the frame the
  target was drawn on; memory is bounded as offline: working memory holds at most T_max
  memory frames, long-term memory at most L_max elements (long-term memory is on, usage is
  counted, so forgetting can run: the length of a live video is unknown);
* **live figures** (`LiveStats`): FPS, capture-to-result latency, step time, memory bytes
  per tier, over a sliding window of frames.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Sequence

import cv2
import numpy as np
import torch

from ..config import MemoryConfig
from ..model import XMem
from ..objects import index_mask
from ..palette import overlay
from ..records import FrameRecord
from ..session import InferenceSession
from .frames import FrameError, as_rgb_frame, cap_frame_size

CPU_SIZES = (128, 160, 192, 240, 320, 480)  # processing sizes tried on a CPU, smallest first
ACCELERATOR_SIZE = 480  # the official XMem processing size, used on a GPU


@dataclass(frozen=True)
class LiveConfig:
    """Settings of live tracking. Memory settings are the paper's (see MemoryConfig)."""

    max_side: int = 640  # incoming frames are shrunk to this long side before anything else
    processing_size: int | None = None  # short side inside the network; None: choose_processing_size
    target_fps: float = 8.0  # the frame budget that decides the processing size on a CPU
    candidate_sizes: tuple[int, ...] = CPU_SIZES
    accelerator_size: int = ACCELERATOR_SIZE
    memory: MemoryConfig = field(default_factory=lambda: MemoryConfig(count_long_term_usage=True))
    window: int = 30  # frames over which FPS, latency and step time are averaged

    def __post_init__(self) -> None:
        if self.max_side < 64:
            raise ValueError(f"max_side must be at least 64 pixels, got {self.max_side}")
        if self.target_fps <= 0:
            raise ValueError(f"target_fps must be positive, got {self.target_fps}")
        if not self.memory.enable_long_term:
            raise ValueError("live tracking needs long-term memory (enable_long_term=True): without it "
                             "working memory grows with every memory frame, without bound")
        if self.memory.count_long_term_usage is False:
            raise ValueError("live tracking must count long-term usage: a live video has no known length, "
                             "and forgetting (which keeps long-term memory under L_max) needs the counts")


@dataclass(frozen=True)
class SizeChoice:
    size: int  # short side inside the network
    seconds_per_frame: dict[int, float]  # measured step time per size tried (empty on a GPU)
    reason: str  # one sentence for the visitor


def choose_processing_size(model: XMem, config: LiveConfig = LiveConfig(), frame_hw: tuple[int, int] = (480, 640)) -> SizeChoice:
    """The processing size for live tracking on the model's device.

    Explicit `config.processing_size`: that. GPU/MPS: the official 480. CPU: measure one
    step at each candidate size, smallest first, on a synthetic frame of `frame_hw` with
    one object and a few memory frames, and keep the largest whose step fits the frame
    budget 1 / target_fps (the smallest if none does). Costs six steps per size tried (one to
    three seconds on a 2-core CPU); the result is kept per model, frame size and thread count.
    """
    if config.processing_size is not None:
        return SizeChoice(int(config.processing_size), {}, f"{config.processing_size} px short side (set by hand)")
    device = next(model.parameters()).device
    if device.type != "cpu":
        return SizeChoice(config.accelerator_size, {}, f"{config.accelerator_size} px short side (the official size; {device.type})")
    return _measure_cpu_sizes(model, config.candidate_sizes, config.target_fps, tuple(frame_hw), torch.get_num_threads())


@lru_cache(maxsize=8)
def _measure_cpu_sizes(model: XMem, sizes: tuple[int, ...], target_fps: float, frame_hw: tuple[int, int], threads: int) -> SizeChoice:
    budget = 1.0 / target_fps
    rng = np.random.default_rng(0)
    h, w = frame_hw
    frame = cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (0, 0), 4)
    mask = np.zeros((h, w), np.uint8)
    mask[h // 4 : h // 2, w // 4 : w // 2] = 1
    measured: dict[int, float] = {}
    chosen = sizes[0]
    for size in sorted(sizes):
        # A memory frame every frame, so that the timed steps read a working memory of a few
        # frames, as live tracking soon does (a single memory frame would flatter the estimate).
        session = InferenceSession(model, MemoryConfig(mem_every=1), working_size=size)
        session.step(frame, mask=mask)
        for _ in range(3):
            session.step(frame)
        times = []
        for _ in range(2):
            started = time.perf_counter()
            session.step(frame)
            times.append(time.perf_counter() - started)
        measured[size] = float(np.median(times))
        if measured[size] > budget:
            break
        chosen = size
    fits = measured[chosen] <= budget
    reason = (
        f"{chosen} px short side: the largest that runs at {target_fps:g} FPS or more on this CPU "
        f"({threads} thread{'s' if threads > 1 else ''}; measured {1000 * measured[chosen]:.0f} ms per frame)"
        if fits
        else f"{chosen} px short side: the smallest tried; this CPU needs {1000 * measured[chosen]:.0f} ms per "
        f"frame, slower than {target_fps:g} FPS"
    )
    return SizeChoice(chosen, measured, reason)


@dataclass
class LiveStats:
    """Figures of the live session so far (averages over the last `window` frames)."""

    processing_size: int
    frames: int = 0  # frames segmented since the target was set
    dropped: int = 0  # frames the source replaced before the tracker got to them
    fps: float = 0.0  # frames segmented per second
    latency_s: float = 0.0  # capture -> result (includes waiting for the tracker)
    step_s: float = 0.0  # time in InferenceSession.step
    memory_bytes: dict[str, int] = field(default_factory=dict)  # per tier: sensory, working, long_term
    peak_memory_bytes: int = 0
    working_size: int = 0  # elements in working memory
    long_term_size: int = 0  # elements in long-term memory
    elements_per_frame: int = 0  # HW at stride 16
    consolidations: int = 0
    forgettings: int = 0

    @property
    def total_memory_bytes(self) -> int:
        return sum(self.memory_bytes.values())


@dataclass
class LiveResult:
    """One segmented frame."""

    index: int  # frames processed in this session (0: the annotated frame)
    frame: np.ndarray  # the frame as tracked (capped), H x W x 3 uint8 RGB
    labels: np.ndarray  # H x W uint8 (or uint16) label ids
    record: FrameRecord
    latency_s: float  # capture -> result
    step_s: float

    def overlay(self) -> np.ndarray:
        return overlay(self.frame, self.labels)


class LiveTracker:
    """Segments frames as they come, against a target given on one frame. Not thread-safe.

        tracker = LiveTracker(model)
        tracker.start(frame0, index_mask)            # the target, drawn on a frozen frame
        for f in source: result = tracker.step(f.image, f.captured_at, source.dropped)
    """

    def __init__(self, model: XMem, config: LiveConfig = LiveConfig(), size: SizeChoice | None = None) -> None:
        self.model = model
        self.config = config
        self.size = size or choose_processing_size(model, config)
        self.session: InferenceSession | None = None
        self.frame_hw: tuple[int, int] | None = None  # every frame is brought to this size
        self.annotation: tuple[np.ndarray, np.ndarray] | None = None  # (frame, labels) the target was set on
        self.stats = LiveStats(self.size.size)
        self._hooks: list[Callable[[FrameRecord], None]] = []
        self._record: FrameRecord | None = None
        self._times: deque[float] = deque(maxlen=config.window + 1)
        self._latency: deque[float] = deque(maxlen=config.window)
        self._steps: deque[float] = deque(maxlen=config.window)

    # ---- hooks ----------------------------------------------------------------------------
    def add_hook(self, hook: Callable[[FrameRecord], None]) -> None:
        """hook(FrameRecord) after every processed frame (the session's observability hook)."""
        self._hooks.append(hook)

    def _on_record(self, record: FrameRecord) -> None:
        self._record = record
        for hook in self._hooks:
            hook(record)

    # ---- frames -----------------------------------------------------------------------------
    def prepare(self, frame: object) -> np.ndarray:
        """Check a frame, cap its size, and bring it to the tracked size (FrameError if unusable)."""
        image = cap_frame_size(as_rgb_frame(frame), self.config.max_side)
        if self.frame_hw is not None and image.shape[:2] != self.frame_hw:
            # The camera changed resolution (or another camera was picked): memory keys are
            # tied to one feature grid, so frames are resized to the size the target was drawn at.
            image = cv2.resize(image, (self.frame_hw[1], self.frame_hw[0]), interpolation=cv2.INTER_AREA)
        return image

    def _check_mask(self, mask: object, hw: tuple[int, int]) -> np.ndarray:
        labels = index_mask(mask, "the target mask", FrameError)
        if labels.shape != hw:
            labels = cv2.resize(labels.astype(np.uint16), (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST)
        if not labels.any():
            raise FrameError("the target mask is empty: mark at least one object")
        return labels.astype(np.uint8 if labels.max() < 256 else np.uint16)

    # ---- target ---------------------------------------------------------------------------
    def start(self, frame: object, mask: object) -> LiveResult:
        """Begin tracking: empty memory, then this frame with its label mask (0 = background).

        The frame is capped to `max_side`; the mask is resized (nearest) to it if needed.
        """
        image = cap_frame_size(as_rgb_frame(frame), self.config.max_side)
        labels = self._check_mask(mask, image.shape[:2])
        self.frame_hw = image.shape[:2]
        self.annotation = (image, labels)
        self._new_session()
        return self._run(image, labels, time.monotonic())

    def correct(self, frame: object, mask: object) -> LiveResult:
        """Re-annotate on a new frame, keeping memory: the objects in `mask` are replaced by
        it (new labels become new objects); objects absent from it keep their prediction."""
        if self.session is None:
            return self.start(frame, mask)
        image = self.prepare(frame)
        labels = self._check_mask(mask, image.shape[:2])
        self.annotation = (image, labels)
        return self._run(image, labels, time.monotonic())

    def reset_memory(self) -> LiveResult:
        """Empty every memory tier and restart from the last annotation (frame and mask)."""
        if self.annotation is None:
            raise FrameError("nothing to reset: no target was set yet")
        image, labels = self.annotation
        self._new_session()
        return self._run(image, labels, time.monotonic())

    def _new_session(self) -> None:
        self.session = InferenceSession(self.model, self.config.memory, working_size=self.size.size)
        self.session.add_hook(self._on_record)
        self.stats = LiveStats(self.size.size, dropped=self.stats.dropped)
        self._times.clear()
        self._latency.clear()
        self._steps.clear()

    # ---- frames ---------------------------------------------------------------------------
    @property
    def tracking(self) -> bool:
        return self.session is not None

    def step(self, frame: object, captured_at: float | None = None, dropped: int | None = None) -> LiveResult:
        """Segment the next frame. captured_at: time.monotonic() when it was captured (for the
        latency; default now). dropped: the source's count of frames dropped so far."""
        if self.session is None:
            raise FrameError("no target yet: freeze a frame and mark the object first")
        image = self.prepare(frame)
        if dropped is not None:
            self.stats.dropped = int(dropped)
        return self._run(image, None, time.monotonic() if captured_at is None else captured_at)

    def _run(self, image: np.ndarray, labels: np.ndarray | None, captured_at: float) -> LiveResult:
        started = time.perf_counter()
        prob = self.session.step(image, mask=labels)
        out = self.session.to_index_mask(prob)
        step_s = time.perf_counter() - started
        done = time.monotonic()
        record = self._record
        s = self.stats
        s.frames += 1
        if labels is None:  # the annotated frame is not a live frame: it stays out of the live figures
            self._times.append(done)
            self._latency.append(done - captured_at)
            self._steps.append(step_s)
        if len(self._times) > 1:
            s.fps = (len(self._times) - 1) / max(self._times[-1] - self._times[0], 1e-9)
        if self._latency:
            s.latency_s = float(np.mean(self._latency))
            s.step_s = float(np.mean(self._steps))
        s.memory_bytes = dict(record.memory_bytes)
        s.peak_memory_bytes = max(s.peak_memory_bytes, s.total_memory_bytes)
        s.working_size, s.long_term_size = record.working_size, record.long_term_size
        s.elements_per_frame = record.elements_per_frame
        s.consolidations += record.consolidation is not None
        s.forgettings += record.forgetting is not None
        return LiveResult(record.index, image, out, record, done - captured_at, step_s)

    def memory_bound_elements(self) -> int:
        """The most elements memory can hold: T_max memory frames of HW elements (working) + L_max."""
        cfg = self.config.memory
        return (cfg.max_mid_term_frames + 1) * self.stats.elements_per_frame + cfg.max_long_term_elements

    def close(self) -> None:
        """Free the memory (the model is shared and stays loaded)."""
        self.session = None
        self.annotation = None
        self._record = None
        self._hooks.clear()


def labels_from_masks(masks: Sequence[np.ndarray], hw: tuple[int, int]) -> np.ndarray:
    """One uint8 label map from per-object bool masks (object k+1 = masks[k]; later ones win)."""
    out = np.zeros(hw, np.uint8)
    for k, m in enumerate(masks, start=1):
        out[np.asarray(m, bool)] = k
    return out
