"""A run's downloads: what the app packs around `RunWriter`'s files (run_writer.py writes the
masks, the videos and the memory trace; this module only chooses the videos and packs).

- overlay.mp4: the clip with the masks drawn (H.264, plays in the browser);
- masks.zip: palette PNG index masks, DAVIS layout `<clip>/<frame:05d>.png`;
- objects.zip: one black/white mask video per object;
- bundle.zip: what replays the session: settings, objects, clicks, the annotations given
  to the tracker, and the memory trace (FrameRecord.summary() rows as CSV and JSON).
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...records import trace_csv
from ...palette import display_overlay
from ...run_writer import Draw
from ...video import write_index_mask
from .state import AppState, ClipInfo, ObjectInfo


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "object"


def run_videos(clip: ClipInfo, objects: Sequence[ObjectInfo], palette: tuple | None = None) -> dict[str, Draw]:
    """The videos of a run, for `RunWriter` (which writes them in frame order): overlay.mp4 in
    the display `palette` (the page's colours, the CLI's look) and one black/white mask video
    per object under objects/."""
    stem = _slug(Path(clip.name).stem)
    videos: dict[str, Draw] = {"overlay.mp4": lambda frame, labels: display_overlay(frame, labels, palette=palette)}
    for o in objects:
        videos[f"objects/{stem}_object{o.id:02d}_{_slug(o.name)}.mp4"] = _object_plane(o.id)
    return videos


def _object_plane(obj_id: int) -> Draw:
    def draw(frame: np.ndarray, labels: np.ndarray) -> np.ndarray:
        plane = np.where(labels == obj_id, 255, 0).astype(np.uint8)
        return np.repeat(plane[..., None], 3, axis=2)

    return draw


def write_objects_zip(run_dir: Path, videos: dict[str, Path]) -> Path:
    """objects.zip: the per-object videos (stored: MP4 is compressed already)."""
    out = run_dir / "objects.zip"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, path in videos.items():
            if name.startswith("objects/"):
                zf.write(path, arcname=path.name)
    return out


def write_masks_zip(run_dir: Path, clip: ClipInfo, first: int, last: int) -> Path:
    """PNGs are already compressed: stored as they are. The zip becomes the only copy of the
    masks (the loose PNGs are removed; `RunResult.read_mask` reads a frame from the zip)."""
    out = run_dir / "masks.zip"
    stem = _slug(Path(clip.name).stem)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for t in range(first, last + 1):
            zf.write(run_dir / "masks" / f"{t:05d}.png", arcname=f"{stem}/{t:05d}.png")
    shutil.rmtree(run_dir / "masks", ignore_errors=True)
    return out


def write_bundle(
    run_dir: Path, state: AppState, settings: dict[str, Any], trace: Sequence[dict], run_info: dict[str, Any]
) -> Path:
    """bundle.zip: enough to replay or audit the session."""
    out = run_dir / "bundle.zip"
    clicks = {
        str(t): {
            str(obj_id): {
                "clicks": [asdict(c) for c in edit.clicks],
                "box": list(edit.box) if edit.box is not None else None,
                "brush_added": edit.brush_add is not None and bool(edit.brush_add.any()),
                "brush_removed": edit.brush_remove is not None and bool(edit.brush_remove.any()),
            }
            for obj_id, edit in frame_edit.objects.items()
        }
        | ({"base_mask": True} if frame_edit.base is not None else {})
        for t, frame_edit in sorted(state.edits.items())
    }
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("settings.json", json.dumps(settings, indent=1))
        zf.writestr("clip.json", json.dumps(asdict(state.clip) if state.clip else {}, indent=1))
        zf.writestr("objects.json", json.dumps([asdict(o) for o in state.objects], indent=1))
        zf.writestr("clicks.json", json.dumps(clicks, indent=1))
        zf.writestr("run.json", json.dumps(run_info, indent=1))
        ann_dir = run_dir / "annotations"
        ann_dir.mkdir(exist_ok=True)
        for t, mask in state.annotations().items():
            write_index_mask(ann_dir / f"{t:05d}.png", mask)
            zf.write(ann_dir / f"{t:05d}.png", arcname=f"annotations/{t:05d}.png")
        zf.writestr("memory_trace.csv", trace_csv(trace))  # the same rows as the run's memory_trace.csv
        zf.writestr("memory_trace.json", json.dumps(list(trace)))
        zf.writestr(
            "README.txt",
            "xmem-demo replay bundle\n"
            "settings.json  memory settings (paper symbols: r, T_min, T_max, P, L_max, top-k), weights, device\n"
            "annotations/   the index masks given to the tracker, one per annotated frame (DAVIS palette PNG)\n"
            "clicks.json    per frame and object: the clicks (x, y, positive), the box prompt (x0, y0, x1, y1) and whether brush edits were used\n"
            "memory_trace.* one row per processed frame: memory bytes per tier, working/long-term sizes, events\n"
            "Replay: xmem-demo segment CLIP --mask annotations/NNNNN.png --mask-frame N with the same settings.\n",
        )
    return out
