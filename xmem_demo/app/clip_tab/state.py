"""What one visitor's tab holds: typed dataclasses kept in a `gr.State`, never in a module.

Frames are not kept here: only the clip's path, decoded on demand. Masks are compact uint8
(labels) or bool arrays, one per annotated frame; tracking results live as palette PNGs in
the visitor's temporary folder, which is removed when the tab closes.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...clicks import Click, ClickSession  # noqa: F401  (Click: the library's one definition, used across the app)
from ...errors import UserError
from ..folders import remove_session_dir, session_dir_for
from ..limits import MAX_OBJECTS


@dataclass
class ObjectInfo:
    id: int  # label id in the index masks (1..MAX_OBJECTS); its colour is the DAVIS palette's
    name: str


@dataclass
class ObjectEdit:
    """One object's annotation on one frame: clicks, then optional brush corrections."""

    clicks: list[Click] = field(default_factory=list)
    click_mask: np.ndarray | None = None  # bool H x W, from the clicks
    brush_add: np.ndarray | None = None  # bool H x W painted onto the object
    brush_remove: np.ndarray | None = None  # bool H x W painted off the object
    box: tuple[int, int, int, int] | None = None  # box prompt (x0, y0, x1, y1), full-resolution pixels

    @property
    def is_empty(self) -> bool:
        return not self.clicks and self.box is None and self.brush_add is None and self.brush_remove is None

    def mask(self, hw: tuple[int, int]) -> np.ndarray:
        out = np.zeros(hw, bool) if self.click_mask is None else self.click_mask.copy()
        if self.brush_add is not None:
            out |= self.brush_add
        if self.brush_remove is not None:
            out &= ~self.brush_remove
        return out


@dataclass
class FrameEdit:
    """The annotation of one frame: a base label map plus per-object edits drawn on top.

    `base` is an uploaded index mask, or the tracking result of that frame when the visitor
    began correcting it (so that objects not touched keep their tracked masks).
    """

    base: np.ndarray | None = None  # uint8 H x W labels
    base_source: str = ""  # "upload" (the visitor's) or "result" (the tracker's)
    objects: dict[int, ObjectEdit] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        """Nothing of the visitor's own left (a tracker result alone is not an annotation)."""
        return not self.objects and self.base_source != "upload"

    def compose(self, hw: tuple[int, int]) -> np.ndarray:
        out = np.zeros(hw, np.uint8) if self.base is None else self.base.copy()
        for obj_id, edit in self.objects.items():
            out[out == obj_id] = 0
            out[edit.mask(hw)] = obj_id
        return out


@dataclass
class ClipInfo:
    path: str
    name: str
    num_frames: int
    fps: float  # 0 when the file does not say
    width: int
    height: int
    note: str = ""  # e.g. a damaged file read up to its last decodable frame

    @property
    def hw(self) -> tuple[int, int]:
        return (self.height, self.width)

    def describe(self) -> str:
        fps = f"{self.fps:.3g} fps" if self.fps else "fps unknown"
        seconds = f" · {self.num_frames / self.fps:.1f} s" if self.fps else ""
        note = f" · ⚠ {self.note}" if self.note else ""
        return f"**{self.name}** · {self.num_frames} frames · {self.width}×{self.height} · {fps}{seconds}{note}"


@dataclass
class RunResult:
    """Outputs of the last tracking run (files in the visitor's temporary folder)."""

    run_dir: str
    first: int  # first and last frame with a result (inclusive): always one contiguous span
    last: int
    frames_done: int
    seconds: float  # tracking only (the FPS is frames_done / seconds)
    stopped: bool
    write_seconds: float = 0.0  # writing the videos and zips after tracking
    total_seconds: float = 0.0  # from Track pressed to results ready: what the visitor waited
    overlay: str | None = None  # overlay.mp4
    masks_zip: str | None = None  # palette PNGs, DAVIS layout
    objects_zip: str | None = None  # one binary mask video per object
    bundle_zip: str | None = None  # replay bundle: settings, clicks, annotations, memory trace

    def mask_path(self, index: int) -> Path:
        """Where a mask is while the run writes it (afterwards it lives only in masks.zip)."""
        return Path(self.run_dir) / "masks" / f"{index:05d}.png"

    def read_mask(self, index: int) -> np.ndarray | None:
        """The result mask of one frame: from masks.zip (the one copy kept), or the run's loose PNG."""
        from PIL import Image

        from ...video import read_index_mask

        if self.masks_zip and Path(self.masks_zip).exists():
            with zipfile.ZipFile(self.masks_zip) as zf:
                name = next((n for n in zf.namelist() if n.endswith(f"/{index:05d}.png")), None)
                if name is None:
                    return None
                with Image.open(io.BytesIO(zf.read(name))) as im:  # our palette PNG: its indices
                    return np.asarray(im).astype(np.uint8)
        path = self.mask_path(index)
        return read_index_mask(path) if path.exists() else None


@dataclass
class AppState:
    session_dir: str | None = None
    clip: ClipInfo | None = None
    frame: int = 0  # the frame shown for annotation
    objects: list[ObjectInfo] = field(default_factory=lambda: [ObjectInfo(1, "object 1")])
    active: int = 1  # id of the object that clicks and brush strokes edit
    edits: dict[int, FrameEdit] = field(default_factory=dict)
    result: RunResult | None = None
    # The last complete run while `result` is a stopped one: a stopped run never silently
    # replaces a complete one; the visitor can go back to it (ui: "Restore") until a later
    # run completes (issue 25).
    kept: RunResult | None = None
    palette: tuple | None = None  # display colours (RGB) for this clip (render.contrast_palette); None: the default
    runs: int = 0
    running: bool = False
    stop_requested: bool = False
    clicks: ClickSession = field(default_factory=ClickSession)  # embedding cache, refinement logits

    # ---- objects ----------------------------------------------------------------------------
    def object(self, obj_id: int) -> ObjectInfo | None:
        return next((o for o in self.objects if o.id == obj_id), None)

    def add_object(self, name: str = "") -> ObjectInfo:
        if len(self.objects) >= MAX_OBJECTS:
            raise UserError(f"at most {MAX_OBJECTS} objects can be tracked at once")
        new_id = next(i for i in range(1, MAX_OBJECTS + 1) if self.object(i) is None)
        obj = ObjectInfo(new_id, name.strip() or f"object {new_id}")
        self.objects.append(obj)
        self.objects.sort(key=lambda o: o.id)
        self.active = new_id
        return obj

    def ensure_objects(self, labels) -> None:
        """Create objects for label ids met in an uploaded mask."""
        for lab in sorted(int(v) for v in labels):
            if lab and self.object(lab) is None:
                if lab > MAX_OBJECTS:
                    raise UserError(f"the mask uses label {lab}; labels 1..{MAX_OBJECTS} are supported")
                self.objects.append(ObjectInfo(lab, f"object {lab}"))
        self.objects.sort(key=lambda o: o.id)

    # ---- annotations ------------------------------------------------------------------------
    def annotations(self) -> dict[int, np.ndarray]:
        """{frame: uint8 label map} for every frame with a non-empty annotation.

        A frame corrected on top of a tracking result gives the tracker only the objects the
        visitor edited there: the other objects' tracked masks are shown but not frozen into
        annotations (the tracker keeps tracking them through that frame), except before an
        object's first own annotation, where the tracker would otherwise not know it yet.
        """
        if self.clip is None:
            return {}
        first_own: dict[int, int] = {}  # object -> first frame the visitor annotated it on
        for t, edit in sorted(self.edits.items()):
            own = set(edit.objects)
            if edit.base_source == "upload" and edit.base is not None:
                own |= {int(v) for v in np.unique(edit.base) if v}
            for obj_id in own:
                first_own.setdefault(obj_id, t)
        out = {}
        for t, edit in sorted(self.edits.items()):
            mask = edit.compose(self.clip.hw)
            if edit.base_source == "result":
                given = [*edit.objects, *(o for o in np.unique(mask) if o and t < first_own.get(int(o), t + 1))]
                mask = np.where(np.isin(mask, given), mask, 0).astype(np.uint8)
            if mask.any():
                out[t] = mask
        return out

    def reset_clip(self, clip: ClipInfo) -> None:
        """A new clip: forget everything tied to the old one (keeps the session folder)."""
        self.clip = clip
        self.frame = 0
        self.objects = [ObjectInfo(1, "object 1")]
        self.active = 1
        self.edits = {}
        self.result = None
        self.kept = None
        self.palette = None
        self.clicks = ClickSession()


# ---- the visitor's temporary folder (app/folders.py) ------------------------------------------
def ensure_session_dir(state: AppState, session_hash: str) -> Path:
    """The visitor's folder, created if needed and marked as used now (the janitor reads that)."""
    if state.session_dir is None:
        state.session_dir = str(session_dir_for(session_hash))
    path = Path(state.session_dir)
    path.mkdir(parents=True, exist_ok=True)
    os.utime(path)
    return path


def cleanup_state(state: AppState | None) -> None:
    """gr.State's delete callback (tab closed, or idle for SESSION_TTL_S): the visitor's files go too.

    Not while a run is writing into the folder: the janitor removes it once it has been idle for
    SESSION_TTL_S + SWEEP_EVERY_S."""
    if isinstance(state, AppState):
        remove_session_dir(state.session_dir)
