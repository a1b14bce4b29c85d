"""Propagating annotations through a video: the loop the CLI, the app and the notebooks share.

`track` runs forward from the first annotated frame to the end of the range and, when that
frame is not the first one, backward from it to the start, yielding one `FrameResult` per
frame as soon as it is ready (so a UI can show progress and a live preview). Frames are
read one at a time from any `FrameSource` (a decoded video, a list of arrays, a synthetic
clip): memory use does not grow with the video length.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Literal, Protocol, Sequence

import numpy as np
import torch

from .config import MemoryConfig
from .model import XMem
from .records import FrameHook, FrameRecord
from .errors import InputError, MaskError
from .limits import MAX_OBJECTS
from .readahead import ReverseReadahead, readahead_window
from .objects import index_mask
from .session import InferenceSession
from .validate import check_frame, check_int, check_memory_config, check_precision, check_working_size
from .video import check_mask_shape


class FrameSource(Protocol):
    """Anything with a length and random access to H x W x 3 uint8 RGB frames."""

    def __len__(self) -> int: ...

    def get(self, index: int) -> np.ndarray: ...


class ArraySource:
    """Wrap a list/array of frames as a FrameSource."""

    def __init__(self, frames: Sequence[np.ndarray] | np.ndarray) -> None:
        self.frames = frames

    def __len__(self) -> int:
        return len(self.frames)

    def get(self, index: int) -> np.ndarray:
        return np.asarray(self.frames[index])


@dataclass
class FrameResult:
    index: int  # frame index in the source
    direction: Literal["forward", "backward"]
    mask: np.ndarray  # H x W index mask with the user's label ids
    object_ids: list[int]
    record: FrameRecord
    prob: torch.Tensor | None = None  # (K+1) x H x W when keep_probs=True
    frame: np.ndarray | None = None  # the H x W x 3 frame it was computed from (already decoded; for previews)


def normalise_annotations(annotations: object) -> dict[int, np.ndarray]:
    """{frame index: H x W index mask} as plain ints and integer numpy arrays.

    Accepted as given: numpy integer keys, masks as nested lists, torch tensors or bool arrays
    (True = object 1). Refused with the argument named: a non-dict, keys that are not whole
    numbers (e.g. the string '0'), ragged lists, negative labels."""
    if annotations is None:
        return {}
    if not isinstance(annotations, Mapping):
        raise InputError(
            f"annotations must be a dict {{frame index: H x W index mask}}, got {type(annotations).__name__}"
        )
    out: dict[int, np.ndarray] = {}
    for key, mask in annotations.items():
        if isinstance(key, bool) or not isinstance(key, numbers.Integral):
            raise InputError(f"annotations: key {key!r} is a {type(key).__name__}; keys are frame indices (int)")
        if isinstance(mask, torch.Tensor):
            mask = mask.detach().cpu().numpy()
        try:
            arr = np.asarray(mask)
        except ValueError as err:  # ragged nested lists
            raise MaskError(f"the mask for frame {int(key)} is not a rectangular array ({err})") from None
        if arr.dtype == bool:
            arr = arr.astype(np.uint8)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)):
            raise MaskError(f"the mask for frame {int(key)} must be an array of integer labels, got dtype {arr.dtype}")
        if np.issubdtype(arr.dtype, np.signedinteger) and arr.size and arr.min() < 0:
            raise MaskError(f"the mask for frame {int(key)} holds negative labels ({int(arr.min())}); 0 is background, objects 1..")
        out[int(key)] = arr
    return out


def _check_annotations(annotations: dict[int, np.ndarray], frame_shape: tuple[int, int], start: int, stop: int) -> None:
    if not annotations:
        raise MaskError("no annotation given: draw or upload a mask on at least one frame")
    for t, mask in annotations.items():
        if not start <= t < stop:
            raise MaskError(f"annotation on frame {t} lies outside the processed range [{start}, {stop})")
        mask = index_mask(mask, f"the mask for frame {t}")
        check_mask_shape(mask, frame_shape, f"the mask for frame {t}")
        if not np.any(mask):
            raise MaskError(f"the mask for frame {t} is empty: select at least one object")
    labels = {int(v) for m in annotations.values() for v in np.unique(m) if v}
    if len(labels) > MAX_OBJECTS:
        raise MaskError(f"{len(labels)} objects annotated; at most {MAX_OBJECTS} can be tracked at once (limits.py)")


def run_direction(
    model: XMem,
    source: FrameSource,
    order: Iterable[int],
    annotations: dict[int, np.ndarray],
    config: MemoryConfig,
    *,
    direction: Literal["forward", "backward"] = "forward",
    working_size: int | None = None,
    keep_probs: bool = False,
    hooks: Sequence[FrameHook] = (),
    precision: str = "fp32",
) -> Iterator[FrameResult]:
    """Run one session over `order` (frame indices), starting at an annotated frame."""
    order = list(order)
    session = InferenceSession(model, config, num_frames=len(order), working_size=working_size, precision=precision)
    records: list[FrameRecord] = []
    session.add_hook(records.append)
    for hook in hooks:
        session.add_hook(hook)
    for i, t in enumerate(order):
        frame = source.get(t)
        prob = session.step(frame, mask=annotations.get(t), end=i == len(order) - 1)
        yield FrameResult(
            index=t,
            direction=direction,
            mask=session.to_index_mask(prob),
            object_ids=list(session.object_ids),
            record=records[-1],
            prob=prob.cpu() if keep_probs else None,
            frame=frame,
        )
        records.clear()


def track(
    model: XMem,
    source: FrameSource,
    annotations: dict[int, np.ndarray],
    config: MemoryConfig = MemoryConfig(),
    *,
    start: int = 0,
    stop: int | None = None,
    working_size: int | None = 480,
    keep_probs: bool = False,
    hooks: Sequence[FrameHook] = (),
    backward_first: bool = False,
    precision: str = "fp32",
    should_stop: Callable[[], bool] = lambda: False,
) -> Iterator[FrameResult]:
    """Propagate `annotations` ({frame index: H x W index mask}) over frames [start, stop).

    Forward from the first annotated frame (later annotations add or correct objects
    when reached), then backward from it to `start` if it is not `start` (earlier
    annotations likewise). `backward_first` swaps the two passes (useful when results
    must be written in frame order). `should_stop()` is checked between frames.
    """
    start = check_int("start", start, minimum=0)
    stop = len(source) if stop is None else min(check_int("stop", stop), len(source))
    if not 0 <= start < stop:
        raise InputError(f"empty frame range [{start}, {stop}) for a video of {len(source)} frames")
    config = check_memory_config(config)
    annotations = normalise_annotations(annotations)
    check_precision(precision)
    first = source.get(start)
    check_frame(first, start)  # shape, dtype, range and the smallest frame size
    check_working_size(working_size, first.shape[:2], name="working_size")  # bounds memory (limits.py)
    _check_annotations(annotations, first.shape[:2], start, stop)
    anchor = min(annotations)
    forward = range(anchor, stop)
    backward = range(anchor, start - 1, -1) if anchor > start else range(0)
    passes = [("forward", forward), ("backward", backward)]
    if backward_first:
        passes.reverse()
    for direction, order in passes:
        if len(order) == 0:
            continue
        is_backward = direction == "backward"
        # Backwards, frames are decoded in forward windows (a decoder asked for t - 1 after t
        # re-decodes from the previous keyframe: ~15-25x slower per frame; see readahead.py).
        frames = ReverseReadahead(source, readahead_window(first.nbytes)) if is_backward else source
        # The anchor frame itself is yielded by the forward pass only.
        for result in run_direction(
            model, frames, order, annotations, config, direction=direction, working_size=working_size,
            keep_probs=keep_probs, hooks=hooks, precision=precision,
        ):
            if should_stop():
                return
            if is_backward and result.index == anchor and len(forward):
                continue
            yield result
