"""Hugging Face ZeroGPU: the GPU work of a request runs under `spaces.GPU`, nowhere else.

On a ZeroGPU Space (Hugging Face sets SPACES_ZERO_GPU=true) a GPU is attached to the Space
only while a function decorated with `spaces.GPU` runs, for at most its `duration` seconds.
The app's GPU work is two kinds of handler: tracking a clip (a generator that streams
progress) and the click model (one call per click). `gpu_task` decorates them; everywhere
else (a CPU Space, a laptop, a machine with its own GPU) it returns the function unchanged,
and the `spaces` package need not be installed (it is imported only on ZeroGPU).

The duration is requested per call from the work at hand (`tracking_duration`): longer clips
ask for more GPU time, short requests get priority in ZeroGPU's queue.
"""

from __future__ import annotations

import os
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

ZERO_GPU_ENV = "SPACES_ZERO_GPU"
CLICK_SECONDS = 20  # one click-model call (image embedding + mask decoder), with margin
MAX_TRACKING_SECONDS = 120  # ZeroGPU's per-call limit for free users is short; longer runs are cut


def on_zero_gpu() -> bool:
    """True on a Hugging Face ZeroGPU Space (SPACES_ZERO_GPU=true / 1)."""
    return os.environ.get(ZERO_GPU_ENV, "").strip().lower() in ("1", "true", "yes")


def _spaces():
    try:
        import spaces  # noqa: PLC0415 - only on ZeroGPU; must come before CUDA is touched
    except ImportError as err:
        raise RuntimeError(
            f"{ZERO_GPU_ENV} is set (a ZeroGPU Space) but the `spaces` package is missing: add `spaces` to "
            "requirements.txt (see README, 'Hugging Face Space')"
        ) from err
    return spaces


def gpu_task(duration: int | Callable[..., int]) -> Callable[[F], F]:
    """Decorator: `spaces.GPU(duration=...)` on ZeroGPU, the identity elsewhere.

    duration: seconds, or a function of the handler's own arguments returning seconds.
    """

    def wrap(fn: F) -> F:
        if not on_zero_gpu():
            return fn
        return _spaces().GPU(duration=duration)(fn)

    return wrap


def tracking_duration(frames: int, seconds_per_frame: float = 0.05, overhead_s: float = 15) -> int:
    """GPU seconds to ask for a run of `frames` frames (480p, full model, fp16/bf16 on an A100-class
    GPU: ~20 fps), capped at MAX_TRACKING_SECONDS."""
    return int(min(MAX_TRACKING_SECONDS, overhead_s + frames * seconds_per_frame))


def track_request_duration(state: Any, weights: Any = None, device: Any = None, size: Any = None, first: Any = 0,
                           last: Any = None, *rest: Any, **kwargs: Any) -> int:
    """`duration` for the UI's tracking handler, called with the handler's own arguments:
    (AppState, weights, device, size, first, last, request, **memory settings)."""
    clip = getattr(state, "clip", None)
    total = clip.num_frames if clip is not None else 1
    try:
        lo = int(first or 0)
        hi = total - 1 if last is None else int(last)
    except (TypeError, ValueError):
        lo, hi = 0, total - 1
    return tracking_duration(max(1, min(hi, total - 1) - lo + 1))


def prepare() -> None:
    """Import `spaces` first on ZeroGPU (it must patch torch before CUDA is initialised);
    nothing elsewhere. app.py calls this before building the UI."""
    if on_zero_gpu():
        _spaces()


__all__ = ["on_zero_gpu", "gpu_task", "tracking_duration", "track_request_duration", "prepare", "CLICK_SECONDS"]
