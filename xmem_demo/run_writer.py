"""One writer for a run's outputs: masks, overlay video(s), memory trace and summary.json.

The `segment` command, the app's Track and the live tab's recording all write through
`RunWriter`; each front end keeps only its packaging (the app's zips and bundle, the live
session's zip). Its promises, whoever calls it:

* **The folder is owned** (outdir.py): a lock, the earlier run's results swept by manifest,
  this run's names claimed before the first write.
* **Masks**: one DAVIS palette PNG per frame, `masks/<index:05d>.png`, written atomically and
  counted with SIGINT/SIGTERM held, so `summary.json` always matches the disk.
* **The overlay holds exactly the masks**: video frames are written in frame order only. A
  frame that arrives before its predecessors (the CLI's backward pass runs first, the app's
  runs second) waits on disk and is read back when the gap closes, or at `close()`. So an
  interrupt in either pass leaves an overlay of the contiguous frames on disk, never one frame
  short of the masks, never none.
* **summary.json is always written** (`close()`): status, frames and their ranges, the
  overlay's frames, time, the caller's fields. On a full disk (ENOSPC, EDQUOT) the writer frees
  what it can rebuild (its temporary files; then, for a run that did not finish, the partial
  overlay, which the masks redraw) and tries again; if that fails too, `summary_error` says why
  in one line, for the front end to show.

    with RunWriter(out, frames_total=n, source=video, fps=25) as run:   # lock, sweep, claim
        for r in track(...):
            run.add(r.index, r.direction, r.mask, frame=r.frame, row=r.record.summary())
        run.close("done", extra={...})          # or left to `with`: status from the exception
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from . import video
from .outdir import RESULT_FILES, OutputDir, part_name, write_atomic
from .palette import overlay as palette_overlay
from .portable import deferred_signals, peak_rss_mib
from .records import trace_csv

Draw = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (H x W x 3 frame, H x W labels) -> RGB frame
TRACE_FILES = ("memory_trace.csv", "memory_trace.json")
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def frame_ranges(indices: Sequence[int]) -> list[list[int]]:
    """[0, 1, 2, 5, 6] -> [[0, 2], [5, 6]]"""
    out: list[list[int]] = []
    for i in sorted(indices):
        if out and i == out[-1][1] + 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


class RunWriter:
    """Writes one run's outputs into a folder it owns (see the module docstring).

    out: the folder. frames_total: how many frames the run may write (indices first ..
    first + frames_total - 1; claimed in the manifest; None: not known in advance, as for a
    live session, then `max_frames`). source: random access to the frames (`get(t)`), needed
    when a mask arrives before its predecessors; a caller that always adds frames in order and
    passes `frame=` needs none. videos: file name -> drawing, one video each, all in frame order
    (default: overlay.mp4 in the DAVIS palette); `{}` writes masks only. stream: draw frames into
    the videos as they come (the CLI, the live tab); False leaves all of it to
    `finish_videos()` (the app's stage 2, with its own progress).
    """

    def __init__(
        self,
        out: str | Path,
        *,
        frames_total: int | None,
        source: Any = None,
        fps: float | None = 24.0,
        first: int = 0,
        videos: Mapping[str, Draw] | None = None,
        trace: bool = True,
        masks_subdir: str = "masks",
        max_frames: int | None = None,
        stream: bool = True,
    ) -> None:
        self.folder = OutputDir(out, masks_subdir)
        self.path = self.folder.path
        self.masks = self.folder.masks
        self.frames_total = frames_total
        self.source = source
        self.fps = float(fps) if fps and fps > 0 else 24.0
        self.first = int(first)
        self.draws = dict({"overlay.mp4": palette_overlay} if videos is None else videos)
        self.keep_trace = trace
        self.max_frames = max_frames
        self.stream = stream
        self.done: list[int] = []  # indices on disk, in the order written
        self._on_disk: set[int] = set()
        self.last: tuple[int, str] | None = None  # (index, direction) of the last mask written
        self.trace: list[dict[str, Any]] = []
        self.video_first: int | None = None  # the videos hold frames video_first .. cursor - 1
        self._cursor = self.first
        self._writers: dict[str, video.Mp4Writer] = {}
        self.started = time.perf_counter()
        self.summary: dict[str, Any] | None = None
        self.summary_error: str | None = None  # why there is no summary.json (None: there is one)
        self.notes: list[str] = []  # what went wrong with the outputs (in summary.json's "notes")
        self.opened = False

    # ---- the folder ---------------------------------------------------------------------------
    def open(self) -> int:
        """Lock the folder, sweep an earlier run's results (only files a manifest lists) and
        claim this run's names; returns how many old masks were removed."""
        self.folder.acquire()
        try:
            removed = self.folder.clear_previous()
            count = self.max_frames if self.frames_total is None else self.first + self.frames_total
            self.folder.claim(count or 0, files=self.result_names())
        except BaseException:
            self.folder.release()
            raise
        self.opened = True
        self.started = time.perf_counter()
        return removed

    def result_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*RESULT_FILES, *self.draws, *(TRACE_FILES if self.keep_trace else ())]))

    def __enter__(self) -> "RunWriter":
        self.removed = self.open()
        return self

    def __exit__(self, kind: type | None, err: BaseException | None, tb: object) -> None:
        try:
            if self.summary is None and self.summary_error is None:
                if err is None:
                    self.close("done")
                else:  # a closed generator (the app's visitor left): nobody waits for the videos
                    self.close(*status_of(err), finish=not isinstance(err, GeneratorExit))
        finally:
            self.folder.release()

    def mask_path(self, index: int) -> Path:
        return self.masks / f"{index:05d}.png"

    def video_path(self, name: str) -> Path:
        return self.path / name

    @property
    def video_frames(self) -> int:
        return 0 if self.video_first is None else self._cursor - self.video_first

    # ---- one frame ----------------------------------------------------------------------------
    def add(self, index: int, direction: str, mask: np.ndarray, frame: np.ndarray | None = None,
            row: dict[str, Any] | None = None) -> None:
        """Write frame `index`'s mask (atomically) and count it; add it to the videos if the
        frames before it are there (else it waits on disk). `frame`: the image it was computed
        from (saves decoding it again); `row`: its memory-trace row."""
        if not self.opened:
            raise RuntimeError("RunWriter.add before open() (use it as a context manager)")
        if self.summary is not None or self.summary_error is not None:
            raise RuntimeError("this run's outputs are closed")
        with deferred_signals():  # a mask on disk is always a mask counted
            write_atomic(self.mask_path(index), lambda p: video.write_index_mask(p, mask))
            self.done.append(index)
            self._on_disk.add(index)
            self.last = (index, direction)
            if row is not None and self.keep_trace:
                self.trace.append(row)
        if not self.draws or not self.stream:
            return
        for _ in self._catch_up(until=index):  # frames that waited for this moment (CLI: the backward pass)
            pass
        if index == self._cursor:
            self._video_frame(index, mask, frame)

    def _video_frame(self, index: int, mask: np.ndarray | None = None, frame: np.ndarray | None = None) -> None:
        """Append frame `index` to every video (mask and frame read back when not given)."""
        if mask is None:
            mask = video.read_index_mask(self.mask_path(index))
        if frame is None:
            if self.source is None:
                raise RuntimeError(f"frame {index} is needed for the overlay but this RunWriter has no source")
            frame = self.source.get(index)
        pictures = {name: draw(frame, mask) for name, draw in self.draws.items()}
        with deferred_signals():  # a frame is in every video, or in none
            for name, picture in pictures.items():
                if name not in self._writers:
                    self._writers[name] = video.Mp4Writer(part_name(self.video_path(name)), fps=self.fps)
                self._writers[name].write(picture)
            if self.video_first is None:
                self.video_first = index
            self._cursor = index + 1

    def _catch_up(self, until: int | None = None) -> Iterator[int]:
        """Write the frames waiting on disk from the cursor on (before `until`); yields the
        count written so far."""
        written = 0
        while self._cursor in self._on_disk and (until is None or self._cursor < until):
            self._video_frame(self._cursor)
            written += 1
            yield written

    def pending_video_frames(self) -> int:
        """Frames on disk the videos will take at close (contiguous from the cursor)."""
        if not self.draws or not self.done:
            return 0
        t = self._cursor if self.video_first is not None else min(self.done)
        n = 0
        while t + n in self._on_disk:
            n += 1
        return n

    def finish_videos(self) -> Iterator[tuple[int, int]]:
        """Write the frames still waiting on disk (the app's stage 2); yields (written, of)."""
        if not self.draws or not self.done:
            return
        if self.video_first is None:  # nothing at the start of the range: the videos start at the lowest frame
            self._cursor = min(self.done)
        total = self.pending_video_frames()
        for written in self._catch_up():
            yield written, total

    # ---- the end ------------------------------------------------------------------------------
    def close(self, status: str, reason: str = "", extra: Mapping[str, Any] | None = None,
              finish: bool = True) -> dict[str, Any] | None:
        """Finish the videos, write the trace and summary.json (see the module docstring).
        status: done | stopped | interrupted | failed. Returns the summary (None if it could
        not be written: `summary_error` says why). Never raises for a full disk; a second
        interrupt while the videos catch up keeps what they hold and is raised after the summary.
        finish=False: the videos keep only what they hold now (summary.json says which frames)."""
        if self.summary is not None or self.summary_error is not None:
            return self.summary
        again: BaseException | None = None
        try:
            for _ in self.finish_videos() if finish else ():
                pass
        except KeyboardInterrupt as err:
            again = err
            self.notes.append(f"the videos stopped at frame {self._cursor}: interrupted again while they caught up")
        except (OSError, ValueError) as err:  # a full disk, or an encoder that gave up
            self.notes.append(f"the videos stopped at frame {self._cursor}: {err}")
        with deferred_signals():
            self._close_videos()
            self._write_trace()
            self.summary = self._summary(status, reason, extra or {})
            self._write_summary()
        if again is not None:
            raise again
        return self.summary

    def discard(self) -> None:
        """Stop without a summary (the caller deletes the folder): the encoders are closed, the
        lock released."""
        for writer in self._writers.values():
            try:
                writer.close()
            except (OSError, ValueError):  # the files are deleted next; a half-written video does not matter
                pass
        self._writers.clear()
        self.folder.release()

    def _close_videos(self) -> None:
        for name, writer in self._writers.items():
            part, final = writer.path, self.video_path(name)
            try:
                writer.close()
                if writer.frames_written:
                    os.replace(part, final)
            except (OSError, ValueError) as err:
                self.notes.append(f"{name} not written: {err}")
                final.unlink(missing_ok=True)
            finally:
                part.unlink(missing_ok=True)

    def video_files(self) -> dict[str, Path]:
        """The videos on disk (after close)."""
        return {name: self.video_path(name) for name in self.draws if self.video_path(name).exists()}

    def _write_trace(self) -> None:
        if not self.keep_trace or not self.trace:
            return
        try:
            write_atomic(self.path / TRACE_FILES[0], lambda p: p.write_text(trace_csv(self.trace)))
            write_atomic(self.path / TRACE_FILES[1], lambda p: p.write_text(json.dumps(self.trace)))
        except OSError as err:
            self.notes.append(f"the memory trace was not written: {err}")

    def _summary(self, status: str, reason: str, extra: Mapping[str, Any]) -> dict[str, Any]:
        elapsed = time.perf_counter() - self.started
        peak = peak_rss_mib()  # None where the platform does not say
        summary: dict[str, Any] = {
            "status": status,
            "frames": len(self.done),
            "frames_total": self.frames_total,
            "frames_written": frame_ranges(self.done),
            "seconds": round(elapsed, 2),
            "fps": round(len(self.done) / max(elapsed, 1e-9), 2),
            "peak_rss_mib": None if peak is None else round(peak, 1),
        }
        if self.draws:
            files = self.video_files()
            summary["videos"] = {name: str(files[name].relative_to(self.path)) for name in files}
            summary["video_frames"] = (
                [self.video_first, self._cursor - 1] if self.video_first is not None and files else None
            )
        summary.update(extra)
        if reason:
            summary["reason"] = reason
        if self.notes:
            summary["notes"] = list(self.notes)
        return summary

    def _write_summary(self) -> None:
        """summary.json; on a full disk, free what can be rebuilt and try again (twice)."""
        target = self.path / "summary.json"
        frees = [self._remove_temporaries]
        if self.summary.get("status") != "done":
            frees.append(self._remove_partial_videos)
        while True:
            try:
                self.folder.write_json("summary.json", self.summary)
                return
            except OSError as err:
                if err.errno not in DISK_FULL or not frees:
                    self.summary_error = f"no summary.json in '{self.path}': {err.strerror or err}"
                    if err.errno in DISK_FULL:
                        self.summary_error += " (the disk is full; the masks on disk are complete)"
                    self.summary = None
                    target.unlink(missing_ok=True)  # never an older run's summary standing for this one
                    return
                frees.pop(0)()

    def _remove_temporaries(self) -> None:
        for name in self.draws:
            part_name(self.video_path(name)).unlink(missing_ok=True)

    def _remove_partial_videos(self) -> None:
        for name, path in self.video_files().items():
            path.unlink(missing_ok=True)
        self.summary["videos"] = {}
        self.summary["video_frames"] = None
        self.summary.setdefault("notes", []).append(
            "the partial videos were removed to make room for this summary (the masks redraw them)")


def status_of(err: BaseException) -> tuple[str, str]:
    """(status, reason) for a run ended by `err`: interrupted by a signal, or failed."""
    if isinstance(err, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        return "interrupted", f"stopped by {getattr(err, 'signal_name', 'Ctrl-C')}"
    return "failed", str(err) or type(err).__name__
