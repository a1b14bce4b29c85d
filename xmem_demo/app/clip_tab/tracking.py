"""One tracking run for one visitor: propagate every annotation, report progress, write outputs.

`run_tracking` is a generator of `RunUpdate`s so the UI can show frames done, FPS, ETA, a
live preview and the memory plot while it runs. Frames stream from the clip file; each
result goes to the run's `RunWriter` (run_writer.py, the writer the CLI uses too): its mask to
a palette PNG at once, the videos in stage 2. `state.stop_requested`
(set by the Stop button) ends the run after the current frame, keeping what was done.
"""

from __future__ import annotations

import errno
import shutil
import time
from contextlib import closing
from collections import deque
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ...config import MemoryConfig, Setting
from ...errors import UserError
from ...geometry import resize_target
from ...pipeline import track
from ...run_writer import RunWriter
from ...video import open_video
from .export import run_videos, write_bundle, write_masks_zip, write_objects_zip
from ..limits import DISPLAY_MAX_SIDE, PREVIEW_INTERVAL_S
from ..models import get_model
from ..render import display_overlay, display_scale, resize_for_display
from .state import AppState, RunResult


def app_memory_settings() -> dict[str, Setting]:
    """The memory settings the app offers: those of `MemoryConfig.settings()` with a range (a
    slider) or an on/off switch (a checkbox). The rest (d, the deep-update period) keep their
    official value. This is the one list: the Advanced accordion, `TrackSettings` and the
    /track endpoint all follow it."""
    defaults = MemoryConfig()
    return {
        name: s
        for name, s in MemoryConfig.settings().items()
        if s.low is not None or isinstance(getattr(defaults, name), bool)
    }


def default_memory() -> dict[str, Any]:
    """name -> the official default, for every setting the app offers."""
    defaults = MemoryConfig()
    return {name: getattr(defaults, name) for name in app_memory_settings()}


@dataclass
class TrackSettings:
    """The "Advanced" accordion, plus the frame range.

    memory: MemoryConfig field name -> the value picked (r, k, T_min, T_max, P, L_max, long-term
    on/off; see `app_memory_settings`). Kept by name, so a setting added to MemoryConfig with a
    `Setting` reaches the app without being listed here.
    """

    weights: str = "auto"
    device: str = "auto"
    working_size: int = 480  # short side inside the network; -1 = the clip's own size
    memory: dict[str, Any] = field(default_factory=default_memory)
    first: int = 0  # frame range, inclusive
    last: int | None = None

    def memory_config(self) -> MemoryConfig:
        """The MemoryConfig these settings ask for (UserError with MemoryConfig's reason if invalid)."""
        types = {f.name: f.type for f in fields(MemoryConfig)}
        unknown = sorted(set(self.memory) - set(types))
        if unknown:
            raise UserError(f"unknown memory settings: {', '.join(unknown)}")
        values, bad = {}, []
        for name, value in self.memory.items():
            try:
                values[name] = bool(value) if types[name] == "bool" else int(value)
            except (TypeError, ValueError):
                bad.append(f"{name}={value!r}")
        if bad:
            raise UserError(f"memory settings must be whole numbers, got {', '.join(bad)}")
        try:
            return MemoryConfig(**values)
        except ValueError as err:
            raise UserError(str(err).replace("invalid MemoryConfig: ", "invalid memory settings: ")) from None

    def record(self) -> dict[str, Any]:
        """Flat name -> value (the replay bundle's settings.json)."""
        flat = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "memory"}
        return {**flat, **self.memory}


@dataclass
class RunUpdate:
    phase: str  # loading weights | forward | backward | writing results | done | stopped
    done: int
    total: int
    fps: float = 0.0
    eta_s: float | None = None
    preview: np.ndarray | None = None  # latest frame with its mask, at display size
    trace: list[dict] = field(default_factory=list)  # FrameRecord.summary() rows so far
    result: RunResult | None = None
    note: str = ""
    elapsed_s: float = 0.0  # since the run started (Track pressed), every stage included


class RecentRate:
    """Frames per second over the last `window` frames.

    The ETA divides the frames left in BOTH passes (forward, then backward) by this rate: a
    recent rate follows the run when its speed changes (the backward pass, a different part
    of the clip), where the average since the start would lag behind.
    """

    def __init__(self, started: float, window: int = 30) -> None:
        self._times: deque[float] = deque([started], maxlen=window + 1)

    def tick(self, now: float) -> None:
        self._times.append(now)

    @property
    def fps(self) -> float:
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0

    def eta(self, frames_left: int) -> float | None:
        fps = self.fps
        return frames_left / fps if fps > 0 else None


def pass_note(direction: str, passes: list[str], note: str = "") -> str:
    """Which pass runs, out of how many ("stage 1 of 2, tracking: pass 1 of 2: forward 40→99,
    then backward 39→0"); stage 2 writes the results (its own progress and ETA)."""
    index = 1 if direction == "forward" or len(passes) == 1 else 2
    text = f"stage 1 of 2, tracking (then writing the results): pass {index} of {len(passes)}: {', '.join(passes)}"
    return f"{text}. {note}" if note else text


def frame_range(state: AppState, settings: TrackSettings) -> tuple[int, int]:
    """Validated inclusive range [first, last]."""
    n = state.clip.num_frames
    first = int(settings.first or 0)
    last = n - 1 if settings.last is None else int(settings.last)
    if not 0 <= first <= last < n:
        raise UserError(f"the frame range {first}..{last} is not inside the clip (frames 0..{n - 1})")
    return first, last


def run_tracking(state: AppState, settings: TrackSettings) -> Iterator[RunUpdate]:
    if state.clip is None:
        raise UserError("load a clip first (upload one or pick an example)")
    clip = state.clip
    first, last = frame_range(state, settings)
    annotations = state.annotations()
    if not annotations:
        raise UserError("no object selected: click on the object in a frame (or upload a mask) before tracking")
    inside = {t: m for t, m in annotations.items() if first <= t <= last}
    outside = sorted(set(annotations) - set(inside))
    if not inside:
        raise UserError(
            f"no annotated frame lies in the range {first}..{last} (annotated: {', '.join(map(str, annotations))})"
        )
    note = f"annotations on frames {', '.join(map(str, outside))} are outside the range and not used" if outside else ""
    config = settings.memory_config()
    total = last - first + 1
    t0 = time.perf_counter()  # the visitor's wait starts here: every stage counts (issue 25)

    yield RunUpdate("loading weights", 0, total, note=note)
    model, weights = get_model(settings.weights, settings.device)
    state.runs += 1
    run_dir = Path(state.session_dir) / f"run-{state.runs:03d}"
    shutil.rmtree(run_dir, ignore_errors=True)
    previous = state.result
    # The one resize rule (geometry.py), without upsampling: a clip smaller than the requested
    # size runs at its own size (upsampling adds compute, not detail).
    working_size = resize_target(clip.height, clip.width, settings.working_size, allow_upsample=False)
    scale = min(1.0, display_scale(clip.width, clip.height, DISPLAY_MAX_SIDE))  # the browser enlarges small previews

    started = time.perf_counter()
    last_yield = 0.0
    state.stop_requested = False
    rate = RecentRate(started)
    anchor = min(inside)
    passes = [f"forward {anchor}→{last}"] + ([f"then backward {anchor - 1}→{first}"] if anchor > first else [])
    with closing(open_video(clip.path)) as video, RunWriter(
        run_dir, frames_total=total, source=video, fps=clip.fps, first=first,
        videos=run_videos(clip, state.objects, state.palette), stream=False,  # the videos are stage 2
    ) as run:
        for result in track(
            model,
            video,
            inside,
            config,
            start=first,
            stop=last + 1,
            working_size=working_size,
            should_stop=lambda: state.stop_requested,
        ):
            row = result.record.summary()
            row.update(frame=result.index, direction=result.direction)
            run.add(result.index, result.direction, result.mask, frame=result.frame, row=row)
            now = time.perf_counter()
            rate.tick(now)
            if now - last_yield >= PREVIEW_INTERVAL_S or len(run.done) == total:
                last_yield = now
                preview = None
                if result.frame is not None:
                    preview = resize_for_display(display_overlay(result.frame, result.mask, palette=state.palette), scale)
                yield RunUpdate(
                    result.direction,
                    len(run.done),
                    total,
                    rate.fps,
                    rate.eta(total - len(run.done)),  # both passes: total counts every frame of the range
                    preview,
                    run.trace,
                    note=pass_note(result.direction, passes, note),
                    elapsed_s=now - t0,
                )
        seconds = time.perf_counter() - started
        trace, done = run.trace, len(run.done)
        stopped = done < total
        if not done:
            run.close("stopped", "stopped before the first frame")
            shutil.rmtree(run_dir, ignore_errors=True)
            state.result = previous
            yield RunUpdate(
                "stopped", 0, total, trace=trace, result=previous, note="stopped before the first frame",
                elapsed_s=time.perf_counter() - t0,
            )  # fmt: skip
            return

        # Stage 2 of 2: the videos and zips, with their own progress and ETA (on a 720p clip
        # with 2 objects this took ~90 s after tracking: issue 25).
        lo, hi = min(run.done), max(run.done)
        result = RunResult(str(run_dir), lo, hi, done, seconds, stopped)
        writing_started = time.perf_counter()
        write_rate = RecentRate(writing_started)
        last_yield = 0.0
        for written, span in run.finish_videos():
            now = time.perf_counter()
            write_rate.tick(now)
            if now - last_yield >= PREVIEW_INTERVAL_S or written == span:
                last_yield = now
                yield RunUpdate(
                    WRITING, written, span, write_rate.fps, write_rate.eta(span - written), trace=trace,
                    note=writing_note(stopped, done, seconds), elapsed_s=now - t0,
                )  # fmt: skip
        run_info: dict[str, Any] = {
            "frames_done": done,
            "first": lo,
            "last": hi,
            "seconds": round(seconds, 3),
            "fps": round(done / max(seconds, 1e-6), 3),
            "stopped": stopped,
            "weights": weights.name,
            "official_weights": weights.official,
            "weights_notice": weights.notice,
            "device": str(next(model.parameters()).device),
            "working_size": working_size,
        }
        run.close("stopped" if stopped else "done", "stopped by the visitor" if stopped else "", extra=run_info)
    if run.summary_error:
        raise OSError(errno.ENOSPC, f"the results could not be written: {run.summary_error}")
    videos = run.video_files()
    if "overlay.mp4" not in videos:  # e.g. a full disk: the summary says why
        raise OSError(f"the overlay video could not be written: {'; '.join(run.notes) or 'no frame'}")
    result.overlay = str(videos["overlay.mp4"])
    result.objects_zip = str(write_objects_zip(run_dir, videos))
    result.masks_zip = str(write_masks_zip(run_dir, clip, lo, hi))
    result.bundle_zip = str(
        write_bundle(run_dir, state, settings.record() | {"memory_config": asdict(config)}, trace, run_info)
    )
    result.write_seconds = time.perf_counter() - writing_started
    result.total_seconds = time.perf_counter() - t0
    keep_complete_result(state, previous, result)
    phase = "stopped" if stopped else "done"
    yield RunUpdate(
        phase, done, total, done / max(seconds, 1e-6), 0.0, None, trace, result, note,
        elapsed_s=result.total_seconds,
    )  # fmt: skip


WRITING = "writing results"  # the phase name of stage 2


def writing_note(stopped: bool, frames: int, seconds: float) -> str:
    what = f"{'stopped early: ' if stopped else ''}{frames} frames tracked in {seconds:.1f} s"
    return f"stage 2 of 2: writing the overlay video, the per-object videos and the zips ({what})"


def keep_complete_result(state: AppState, previous: RunResult | None, result: RunResult) -> None:
    """The new result becomes the shown one; a stopped run never silently discards a complete
    one: the last complete result is kept in `state.kept` (the page offers it back) until a
    later run completes. Results nobody can reach any more are deleted."""
    keep = state.kept
    if result.stopped and previous is not None and not previous.stopped:
        keep = previous  # the complete run the visitor had before pressing Stop
    elif not result.stopped:
        keep = None
    gone = [r for r in (previous, state.kept) if r is not None and r is not keep and r.run_dir != result.run_dir]
    for old in gone:
        shutil.rmtree(old.run_dir, ignore_errors=True)
    state.result, state.kept = result, keep


def restore_kept(state: AppState) -> None:
    """Back to the last complete result (the stopped one shown instead is deleted)."""
    if state.kept is None:
        raise UserError("there is no earlier complete result to go back to")
    if state.running:
        raise UserError("a run is going: wait for it or press Stop first")
    stopped, state.result, state.kept = state.result, state.kept, None
    if stopped is not None and stopped.run_dir != state.result.run_dir:
        shutil.rmtree(stopped.run_dir, ignore_errors=True)
