"""Writing a run's downloads into its folder.

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
from contextlib import ExitStack, closing
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..records import trace_csv
from ..video import Mp4Writer, open_video, read_index_mask, write_index_mask
from .render import display_overlay
from .state import AppState, ClipInfo, ObjectInfo


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "object"


def write_videos(
    run_dir: Path,
    clip: ClipInfo,
    first: int,
    last: int,
    objects: Sequence[ObjectInfo],
    palette: tuple | None = None,
) -> Iterator[int]:
    """Write overlay.mp4 (objects in the display `palette`: the page's colours) and objects.zip
    for frames first..last; yields frames written so far."""
    fps = clip.fps or 24.0
    masks_dir = run_dir / "masks"
    object_dir = run_dir / "objects"
    object_dir.mkdir(exist_ok=True)
    stem = _slug(Path(clip.name).stem)
    object_paths = {o.id: object_dir / f"{stem}_object{o.id:02d}_{_slug(o.name)}.mp4" for o in objects}
    with ExitStack() as stack:
        source = stack.enter_context(closing(open_video(clip.path)))
        overlay_writer = stack.enter_context(Mp4Writer(run_dir / "overlay.mp4", fps=fps))
        writers = {i: stack.enter_context(Mp4Writer(p, fps=fps)) for i, p in object_paths.items()}
        for n, frame in enumerate(source.iter_frames(first, last + 1)):
            labels = read_index_mask(masks_dir / f"{first + n:05d}.png")
            overlay_writer.write(display_overlay(frame, labels, palette=palette))
            for obj_id, writer in writers.items():
                plane = np.where(labels == obj_id, 255, 0).astype(np.uint8)
                writer.write(np.repeat(plane[..., None], 3, axis=2))
            yield n + 1
    with zipfile.ZipFile(run_dir / "objects.zip", "w", compression=zipfile.ZIP_STORED) as zf:
        for path in object_paths.values():
            zf.write(path, arcname=path.name)


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
        zf.writestr("memory_trace.csv", trace_csv(trace))
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
