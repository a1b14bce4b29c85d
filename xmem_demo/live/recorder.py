"""The live session's downloads: masks, overlay video and memory trace, written as frames come.

Nothing is held in RAM: each processed frame's mask goes to a palette PNG and its overlay to
an MP4 (H.264) as soon as it is segmented; the trace (one `FrameRecord.summary()` row per
frame, plus its latency) stays small. After `max_frames` frames the recording stops (the
tracking goes on) and `truncated` says so. `finish()` closes the video and packs:

- overlay.mp4: the processed frames with their masks, one after another at `fps`
  (live frames arrive irregularly; their capture times are in the trace);
- masks.zip: palette PNG index masks `masks/<n:05d>.png` (n = processed-frame number);
- summary.json (session.json in the zip): model, processing size, settings, frames;
- memory_trace.csv / .json: per frame: capture time, latency, step time, memory bytes per
  tier, working/long-term sizes, consolidation and forgetting events;
- live_session.zip: all of the above.
"""

from __future__ import annotations

import errno
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..palette import overlay
from ..records import trace_csv
from ..run_writer import TRACE_FILES, RunWriter
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
    """Writes a live session into `folder` as it runs (see the module docstring), through the
    writer every front end uses (`RunWriter`: masks, overlay, trace, summary.json); this class
    adds the live rows (latency, capture time), the frame cap and the zips."""

    def __init__(self, folder: str | Path, fps: float = 8.0, max_frames: int = MAX_RECORDED_FRAMES) -> None:
        self.folder = Path(folder)
        self.masks_dir = self.folder / "masks"
        self.fps = fps
        self.max_frames = max_frames
        self.frames = 0
        self.truncated = False
        self._t0: float | None = None
        self.finished: LiveDownloads | None = None
        # Frames arrive in order and carry their image: the overlay is drawn as each comes (in
        # the DAVIS palette, as LiveResult.overlay() shows it on the page).
        self._run = RunWriter(self.folder, frames_total=None, max_frames=max_frames, fps=fps,
                              videos={"overlay.mp4": overlay})
        self._run.open()

    @property
    def trace(self) -> list[dict[str, Any]]:
        return self._run.trace

    def add(self, result: LiveResult, captured_at: float | None = None) -> None:
        if self.finished is not None:
            raise RuntimeError("the recording is finished; start a new LiveRecorder")
        if self.frames >= self.max_frames:
            self.truncated = True
            return
        n = self.frames
        row = result.record.summary()
        row.pop("sensory_norm", None)
        row.pop("sensory_change", None)
        row["recorded_frame"] = n
        row["latency_s"] = round(result.latency_s, 4)
        row["step_s"] = round(result.step_s, 4)
        if captured_at is not None:
            self._t0 = captured_at if self._t0 is None else self._t0
            row["captured_s"] = round(captured_at - self._t0, 4)
        self._run.add(n, "forward", result.labels, frame=result.frame, row=row)
        self.frames += 1

    def finish(self, info: dict[str, Any] | None = None) -> LiveDownloads:
        """Close the video, write the trace and session summary, and the zips (idempotent)."""
        if self.finished is not None:
            return self.finished
        session = {"frames_recorded": self.frames, "truncated": self.truncated, "max_frames": self.max_frames,
                   "overlay_fps": self.fps, **(info or {})}
        try:
            self._run.close("done", extra=json.loads(json.dumps(session, default=str)))
        finally:
            self._run.folder.release()
        if self._run.summary_error:
            raise OSError(errno.ENOSPC, f"the live session could not be saved: {self._run.summary_error}")
        videos = self._run.video_files()
        overlay_path = videos.get("overlay.mp4")
        overlay_str = str(overlay_path) if overlay_path else None
        masks_zip = self.folder / "masks.zip"
        with zipfile.ZipFile(masks_zip, "w", compression=zipfile.ZIP_STORED) as zf:  # PNGs are compressed already
            for png in sorted(self.masks_dir.glob("*.png")):
                zf.write(png, arcname=f"masks/{png.name}")
        csv_path = self.folder / TRACE_FILES[0]
        if not csv_path.exists():  # no frame recorded: an empty trace, for the download button
            csv_path.write_text(trace_csv([]))
        bundle = self.folder / "live_session.zip"
        with zipfile.ZipFile(bundle, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.write(self.folder / "summary.json", arcname="session.json")
            for name in TRACE_FILES:
                if (self.folder / name).exists():
                    zf.write(self.folder / name, arcname=name)
            if overlay_str:
                zf.write(overlay_str, arcname="overlay.mp4")
            zf.write(masks_zip, arcname="masks.zip")
            zf.writestr("README.txt", __doc__ or "")
        self.finished = LiveDownloads(str(self.folder), overlay_str, str(masks_zip), str(csv_path), str(bundle),
                                      self.frames, self.truncated)
        return self.finished

    def discard(self) -> None:
        """Stop writing and delete everything written."""
        if self.finished is None:
            self._run.discard()
        self.finished = self.finished or LiveDownloads(str(self.folder), None, "", "", "", self.frames, self.truncated)
        shutil.rmtree(self.folder, ignore_errors=True)
