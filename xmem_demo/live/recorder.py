"""The live session's downloads: masks, overlay video and memory trace, written as frames come.

Nothing is held in RAM: each processed frame's mask goes to a palette PNG and its overlay to
an MP4 (H.264) as soon as it is segmented; the trace (one `FrameRecord.summary()` row per
frame, plus its latency) stays small. After `max_frames` frames the recording stops (the
tracking goes on) and `truncated` says so. `finish()` closes the video and packs:

- overlay.mp4: the processed frames with their masks, one after another at `fps`
  (live frames arrive irregularly; their capture times are in the trace);
- masks.zip: palette PNG index masks `masks/<n:05d>.png` (n = processed-frame number);
- memory_trace.csv / .json: per frame: capture time, latency, step time, memory bytes per
  tier, working/long-term sizes, consolidation and forgetting events;
- live_session.zip: all of the above plus session.json (model, processing size, settings).
"""

from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..records import trace_csv
from ..video import Mp4Writer, write_index_mask
from .tracker import LiveResult

MAX_RECORDED_FRAMES = 9000  # 5 minutes at 30 fps; beyond this the session is tracked but not recorded


@dataclass(frozen=True)
class LiveDownloads:
    folder: str
    overlay: str | None  # None when no frame was recorded
    masks_zip: str
    trace_csv: str
    bundle_zip: str
    frames: int
    truncated: bool


class LiveRecorder:
    """Writes a live session into `folder` as it runs (see the module docstring)."""

    def __init__(self, folder: str | Path, fps: float = 8.0, max_frames: int = MAX_RECORDED_FRAMES) -> None:
        self.folder = Path(folder)
        self.masks_dir = self.folder / "masks"
        self.masks_dir.mkdir(parents=True, exist_ok=True)
        self.fps = fps
        self.max_frames = max_frames
        self.trace: list[dict[str, Any]] = []
        self.frames = 0
        self.truncated = False
        self._video: Mp4Writer | None = None
        self._t0: float | None = None
        self.finished: LiveDownloads | None = None

    def add(self, result: LiveResult, captured_at: float | None = None) -> None:
        if self.finished is not None:
            raise RuntimeError("the recording is finished; start a new LiveRecorder")
        if self.frames >= self.max_frames:
            self.truncated = True
            return
        if self._video is None:
            self._video = Mp4Writer(self.folder / "overlay.mp4", fps=self.fps)
        n = self.frames
        write_index_mask(self.masks_dir / f"{n:05d}.png", result.labels)
        self._video.write(result.overlay())
        row = result.record.summary()
        row.pop("sensory_norm", None)
        row.pop("sensory_change", None)
        row["recorded_frame"] = n
        row["latency_s"] = round(result.latency_s, 4)
        row["step_s"] = round(result.step_s, 4)
        if captured_at is not None:
            self._t0 = captured_at if self._t0 is None else self._t0
            row["captured_s"] = round(captured_at - self._t0, 4)
        self.trace.append(row)
        self.frames += 1

    def finish(self, info: dict[str, Any] | None = None) -> LiveDownloads:
        """Close the video and write the zips (idempotent)."""
        if self.finished is not None:
            return self.finished
        overlay = None
        if self._video is not None:
            self._video.close()
            overlay = str(self._video.path)
        masks_zip = self.folder / "masks.zip"
        with zipfile.ZipFile(masks_zip, "w", compression=zipfile.ZIP_STORED) as zf:  # PNGs are compressed already
            for png in sorted(self.masks_dir.glob("*.png")):
                zf.write(png, arcname=f"masks/{png.name}")
        csv_path = self.folder / "memory_trace.csv"
        csv_path.write_text(trace_csv(self.trace))
        (self.folder / "memory_trace.json").write_text(json.dumps(self.trace))
        session = {"frames_recorded": self.frames, "truncated": self.truncated, "max_frames": self.max_frames,
                   "overlay_fps": self.fps, **(info or {})}
        (self.folder / "session.json").write_text(json.dumps(session, indent=1, default=str))
        bundle = self.folder / "live_session.zip"
        with zipfile.ZipFile(bundle, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name in ("session.json", "memory_trace.csv", "memory_trace.json"):
                zf.write(self.folder / name, arcname=name)
            if overlay:
                zf.write(overlay, arcname="overlay.mp4")
            zf.write(masks_zip, arcname="masks.zip")
            zf.writestr("README.txt", __doc__ or "")
        self.finished = LiveDownloads(str(self.folder), overlay, str(masks_zip), str(csv_path), str(bundle),
                                      self.frames, self.truncated)
        return self.finished

    def discard(self) -> None:
        """Stop writing and delete everything written."""
        if self._video is not None and self.finished is None:
            try:
                self._video.close()
            except (OSError, ValueError, BrokenPipeError):
                pass  # the files are deleted next; a half-written video does not matter
        self.finished = self.finished or LiveDownloads(str(self.folder), None, "", "", "", self.frames, self.truncated)
        shutil.rmtree(self.folder, ignore_errors=True)
