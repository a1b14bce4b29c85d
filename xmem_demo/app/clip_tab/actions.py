"""What each control does to the visitor's state, without Gradio (so it is easy to test).

Every function takes the `AppState` and the control's value, changes the state, and
raises `UserError` with a specific message on bad input.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ...clicks import Box, choose_segmenter
from ...clicks.click_session import ClickModel
from ...errors import UserError
from .clip import examples_dir, inspect_clip, load_mask_upload, read_frame
from ..render import annotated_view, contrast_palette, display_scale
from .state import AppState, Click, FrameEdit, ObjectEdit


# ---- clip and frame -------------------------------------------------------------------------
def load_clip(state: AppState, path: str | Path | None, display_name: str | None = None) -> None:
    if not path:
        raise UserError("no file received: choose a video file to upload")
    if state.running:
        raise UserError("a tracking run is going: press Stop (or wait) before loading another clip")
    state.reset_clip(inspect_clip(path, display_name))
    # Object colours that stand out on this clip (its first frame, the one shown first).
    state.palette = contrast_palette(read_frame(state.clip, 0))


def load_example(state: AppState, name: str | None, folder: Path | None = None) -> None:
    folder = examples_dir() if folder is None else folder
    if not name:
        raise UserError("pick an example clip from the list first")
    path = (folder / name).resolve()
    if path.parent != folder.resolve() or not path.exists():
        raise UserError(f"'{name}' is not one of the bundled examples")
    load_clip(state, path)


def require_clip(state: AppState) -> None:
    if state.clip is None:
        raise UserError("load a clip first (upload one or pick an example)")


def set_frame(state: AppState, index: int | float | None) -> None:
    require_clip(state)
    state.frame = min(max(int(index or 0), 0), state.clip.num_frames - 1)


def result_mask(state: AppState, index: int) -> np.ndarray | None:
    """The last run's mask for a frame, if it has one."""
    if state.result is None or not state.result.first <= index <= state.result.last:
        return None
    return state.result.read_mask(index)  # from masks.zip: the only copy kept (export.py)


def shown_labels(state: AppState, index: int) -> np.ndarray | None:
    """What the frame shows: its annotation if it has one, else the tracking result."""
    edit = state.edits.get(index)
    if edit is not None and not edit.is_empty:
        return edit.compose(state.clip.hw)
    return result_mask(state, index)


def frame_view(state: AppState, frame: np.ndarray | None = None) -> np.ndarray | None:
    """The current frame, mask overlaid, the active object's clicks drawn, at display size."""
    if state.clip is None:
        return None
    t = state.frame
    frame = read_frame(state.clip, t) if frame is None else frame
    edit = state.edits.get(t)
    clicks = edit.objects[state.active].clicks if edit and state.active in edit.objects else []
    scale = display_scale(state.clip.width, state.clip.height)
    return annotated_view(frame, shown_labels(state, t), clicks, scale, state.palette)


def _frame_edit(state: AppState) -> FrameEdit:
    """The current frame's edit; a new one starts from the tracking result, if any."""
    t = state.frame
    if t not in state.edits:
        base = result_mask(state, t)
        state.edits[t] = FrameEdit(base=base, base_source="result" if base is not None else "")
    return state.edits[t]


def _drop_if_empty(state: AppState) -> None:
    edit = state.edits.get(state.frame)
    if edit is None:
        return
    for obj_id in [i for i, e in edit.objects.items() if e.is_empty]:
        del edit.objects[obj_id]
    if edit.is_empty:
        del state.edits[state.frame]


# ---- clicks ---------------------------------------------------------------------------------
def _frame_key(state: AppState) -> tuple[str, int]:
    """What identifies the frame's image embedding in the visitor's cache."""
    return (state.clip.path, state.frame)


def _object_edit_for_prompt(state: AppState):
    """(edit, object edit, prior mask): the prior is the object's mask before its first prompt here."""
    if state.object(state.active) is None:
        raise UserError("no object selected: add an object first")
    edit = _frame_edit(state)
    prior = None
    if state.clicks.record(state.frame, state.active) is None:
        # First prompt for this object here: refine what the frame shows for it (tracked, uploaded, brushed).
        prior = edit.compose(state.clip.hw) == state.active
    obj = edit.objects.setdefault(state.active, ObjectEdit())
    return edit, obj, prior


def _predict(state: AppState, obj: ObjectEdit, prior, segmenter: ClickModel | None) -> None:
    model = segmenter or choose_segmenter()
    rec = state.clicks.start(state.frame, state.active, prior)
    rec.box = None if obj.box is None else Box(*obj.box)
    frame = read_frame(state.clip, state.frame)
    prediction = state.clicks.step(model, frame, _frame_key(state), state.frame, state.active, obj.clicks, prior)
    obj.click_mask = prediction.mask


def _require_prompt_point(state: AppState, x: float, y: float, what: str) -> None:
    """A prompt needs a clip, an active object, and a point inside the frame."""
    require_clip(state)
    if state.object(state.active) is None:
        raise UserError("no object selected: add an object first")
    w, h = state.clip.width, state.clip.height
    if not (0 <= x < w and 0 <= y < h):
        raise UserError(f"{what} at ({x:.0f}, {y:.0f}) lies outside the {w}×{h} frame")


def add_click(state: AppState, x: float, y: float, positive: bool, segmenter: ClickModel | None = None) -> None:
    """A click at full-resolution pixel (x, y) on the current frame, for the active object.

    It refines the object's mask on this frame: the previous click's prediction, or the tracked /
    uploaded mask before the first click (see xmem_demo.clicks.click_session).
    """
    _require_prompt_point(state, x, y, "click")
    _, obj, prior = _object_edit_for_prompt(state)
    obj.clicks.append(Click(int(x), int(y), bool(positive)))
    _predict(state, obj, prior, segmenter)
    _drop_if_empty(state)


def add_box_corner(state: AppState, x: float, y: float, segmenter: ClickModel | None = None) -> bool:
    """Box prompt in two clicks (Gradio's image gives clicks, not drags): first corner, then the
    opposite one. Returns True when the box is complete and the mask was predicted."""
    _require_prompt_point(state, x, y, "box corner")
    pending = state.clicks.pending_corner
    if pending is None or pending[:2] != (state.frame, state.active):
        state.clicks.pending_corner = (state.frame, state.active, float(x), float(y))
        return False
    state.clicks.pending_corner = None
    x0, y0 = pending[2:]
    if abs(x - x0) < 2 or abs(y - y0) < 2:
        raise UserError("the two box corners are too close: click two opposite corners of the object")
    _, obj, prior = _object_edit_for_prompt(state)
    obj.box = (int(min(x0, x)), int(min(y0, y)), int(max(x0, x)), int(max(y0, y)))
    _predict(state, obj, prior, segmenter)
    _drop_if_empty(state)
    return True


def add_display_click(
    state: AppState, x: float, y: float, positive: bool, segmenter: ClickModel | None = None
) -> None:
    """A click on the shown (resized) frame."""
    require_clip(state)
    scale = display_scale(state.clip.width, state.clip.height)
    x = min(x / scale, state.clip.width - 1)
    y = min(y / scale, state.clip.height - 1)
    add_click(state, x, y, positive, segmenter)


def add_display_box_corner(state: AppState, x: float, y: float, segmenter: ClickModel | None = None) -> bool:
    require_clip(state)
    scale = display_scale(state.clip.width, state.clip.height)
    return add_box_corner(state, min(x / scale, state.clip.width - 1), min(y / scale, state.clip.height - 1), segmenter)


def click_note(state: AppState) -> str:
    """What the clicks on this frame build on, and the embedding cache's counters (for the status line)."""
    if state.clip is None:
        return ""
    rec = state.clicks.record(state.frame, state.active)
    cache = state.clicks.cache
    note = ""
    if rec is not None and rec.prior_mask is not None:
        note += " Clicks here refine the mask this object already had on this frame."
    if rec is not None and rec.model == "grabcut" and rec.box is None and rec.prior_mask is None:
        # GrabCut from one point guesses the object's extent; a box tells it (issue 25).
        note += " Tip: GrabCut does best from a box: choose *box (2 corners)* and click two opposite corners."
    if cache.computed:
        note += f" Click model: {cache.computed} frame embedding(s) computed, {cache.reused} reused."
    return note


def choose_candidate(state: AppState, index: int | float | None) -> None:
    """Show another of the last click's candidate masks (SAM: whole object, part, sub-part)."""
    require_clip(state)
    edit = state.edits.get(state.frame)
    obj = edit.objects.get(state.active) if edit else None
    if obj is None or index in (None, ""):
        raise UserError("no mask candidates for this object on this frame: click on the object first")
    obj.click_mask = state.clicks.choose(state.frame, state.active, int(index))  # InputError: a UserError


def undo_click(state: AppState, segmenter: ClickModel | None = None) -> None:
    require_clip(state)
    edit = state.edits.get(state.frame)
    obj = edit.objects.get(state.active) if edit else None
    if obj is None or (not obj.clicks and obj.box is None):
        raise UserError(f"no click to undo for this object on frame {state.frame}")
    if obj.clicks:
        obj.clicks.pop()
    else:
        obj.box = None
    rec = state.clicks.record(state.frame, state.active)
    if rec is not None:
        rec.box = None if obj.box is None else Box(*obj.box)
    model = segmenter or choose_segmenter()
    frame = read_frame(state.clip, state.frame)
    prediction = state.clicks.undo(model, frame, _frame_key(state), state.frame, state.active, obj.clicks)
    obj.click_mask = None if prediction is None else prediction.mask
    _drop_if_empty(state)


def clear_frame(state: AppState) -> None:
    """Remove every annotation of the current frame (all objects, uploads and brush edits)."""
    require_clip(state)
    state.edits.pop(state.frame, None)
    state.clicks.forget(state.frame)


# ---- masks from files and brushes -----------------------------------------------------------
def apply_mask_upload(state: AppState, path: str | Path | None) -> None:
    require_clip(state)
    if not path:
        raise UserError("no mask file received: choose a PNG index mask")
    mask = load_mask_upload(path, state.clip)
    state.ensure_objects(np.unique(mask))
    state.edits[state.frame] = FrameEdit(base=mask, base_source="upload")
    state.clicks.forget(state.frame)
    present = sorted(int(v) for v in np.unique(mask) if v)
    state.active = present[0]


def _layer_planes(editor_value: dict | None, hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(add, remove) bool masks from the brush layers: light paint adds, black paint removes."""
    add = np.zeros(hw, bool)
    remove = np.zeros(hw, bool)
    for layer in (editor_value or {}).get("layers") or []:
        if layer is None:
            continue
        layer = np.asarray(layer)
        if layer.ndim != 3 or layer.shape[2] < 4:
            continue
        if layer.shape[:2] != hw:
            layer = cv2.resize(layer, (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST)
        painted = layer[..., 3] > 0
        light = layer[..., :3].astype(np.int32).mean(axis=2) > 127
        add |= painted & light
        remove |= painted & ~light
    return add, remove


def apply_brush(state: AppState, editor_value: dict | None) -> None:
    require_clip(state)
    if state.object(state.active) is None:
        raise UserError("no object selected: add an object first")
    add, remove = _layer_planes(editor_value, state.clip.hw)
    if not add.any() and not remove.any():
        raise UserError("nothing painted: paint on the frame (white adds to the object, black removes) first")
    edit = _frame_edit(state)
    obj = edit.objects.setdefault(state.active, ObjectEdit())
    if obj.click_mask is None and not obj.clicks:
        # Brushing an object that has a mask here already (tracked or uploaded) corrects that mask.
        current = edit.compose(state.clip.hw) == state.active
        obj.click_mask = current if current.any() else None
    obj.brush_add = add if obj.brush_add is None else obj.brush_add | add
    obj.brush_remove = remove if obj.brush_remove is None else (obj.brush_remove & ~add) | remove
    obj.brush_add &= ~remove
    _drop_if_empty(state)


# ---- objects --------------------------------------------------------------------------------
def add_object(state: AppState, name: str = "") -> None:
    state.add_object(name)


def select_object(state: AppState, obj_id: int | str | None) -> None:
    if obj_id in (None, ""):
        raise UserError("no object selected: add an object first")
    obj_id = int(obj_id)
    if state.object(obj_id) is None:
        raise UserError(f"there is no object {obj_id}")
    state.active = obj_id


def rename_object(state: AppState, name: str) -> None:
    obj = state.object(state.active)
    if obj is None:
        raise UserError("no object selected: add an object first")
    if not name or not name.strip():
        raise UserError("an object name cannot be empty")
    obj.name = name.strip()[:40]


def remove_object(state: AppState) -> None:
    """Forget the active object and all its annotations (results stay until the next run)."""
    if len(state.objects) <= 1:
        raise UserError("keep at least one object (use Clear frame to remove its annotation)")
    gone = state.active
    state.objects = [o for o in state.objects if o.id != gone]
    for t in {k[0] for k in state.clicks.records}:
        state.clicks.forget(t, gone)
    for t in list(state.edits):
        edit = state.edits[t]
        edit.objects.pop(gone, None)
        if edit.base is not None:
            edit.base = np.where(edit.base == gone, 0, edit.base).astype(np.uint8)
        if edit.is_empty or (edit.base_source == "upload" and not edit.base.any() and not edit.objects):
            del state.edits[t]
    state.active = state.objects[0].id


def annotated_frames(state: AppState) -> dict[int, list[int]]:
    """{object id: frames where it is annotated}."""
    out: dict[int, list[int]] = {}
    for t, mask in state.annotations().items():
        for lab in np.unique(mask):
            if lab:
                out.setdefault(int(lab), []).append(t)
    return out
