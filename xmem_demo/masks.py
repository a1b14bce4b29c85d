"""Reading a user's annotation mask without silently inventing or losing objects.

`read_annotation` wraps `video.read_index_mask` with the checks an annotation needs:

* JPEG masks are refused: lossy compression creates new grey values along every edge.
* Soft edges (anti-aliased or resized grayscale/RGB masks) are snapped: a label that appears
  only as a thin band (no pixel whose 3x3 neighbourhood is all that label) is not an object;
  its pixels take the nearest real label, and a warning names the stray ids. Palette PNGs
  hold exact indices and are never changed.
* 255 is DAVIS's "void" (unlabelled) label: those pixels are neither object nor tracked
  (`void_label=None` tracks 255 as an ordinary object). A grayscale mask whose only object
  value is 255 (a plain black/white mask) is read as object 1, with a note.
* At most `MAX_OBJECTS` objects (xmem_demo/limits.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import MaskError
from .limits import MAX_OBJECTS, VOID_LABEL
from .video import open_mask_image, read_index_mask


@dataclass
class Annotation:
    mask: np.ndarray  # uint8 H x W labels, 0 = background, void pixels set to 0
    labels: list[int]  # object ids present
    void_pixels: int = 0
    warnings: list[str] = field(default_factory=list)


def _image_format(path: Path) -> tuple[str | None, str | None]:
    with open_mask_image(path) as im:
        return im.format, im.mode


def stray_labels(mask: np.ndarray) -> list[int]:
    """Labels (including 0) without a single interior pixel: edges, not regions."""
    m = mask.astype(np.int32)
    h, w = m.shape
    interior = np.zeros_like(m, dtype=bool)
    if h >= 3 and w >= 3:
        core = m[1:-1, 1:-1]
        same = np.ones_like(core, dtype=bool)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                same &= m[1 + dy : h - 1 + dy, 1 + dx : w - 1 + dx] == core
        interior[1:-1, 1:-1] = same
    present = np.unique(m)
    solid = np.unique(m[interior])
    return [int(v) for v in present if v not in solid]


def snap_labels(mask: np.ndarray, stray: list[int]) -> np.ndarray:
    """Give each pixel of a stray label the value of its nearest non-stray neighbour."""
    out = mask.astype(np.int32).copy()
    todo = np.isin(out, stray)
    out[todo] = -1
    h, w = out.shape
    for _ in range(h + w):
        if not todo.any():
            break
        filled = out.copy()
        for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1)):
            src = np.full_like(out, -1)
            src[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = out[
                max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
            ]
            take = (filled == -1) & (src >= 0)
            filled[take] = src[take]
        out = filled
        todo = out == -1
    out[out < 0] = 0
    return out.astype(np.uint8)


def read_annotation(path: str | Path, void_label: int | None = VOID_LABEL, max_objects: int = MAX_OBJECTS) -> Annotation:
    """Read and check an annotation mask; raises MaskError with what to do."""
    path = Path(path)
    fmt, mode = _image_format(path)
    if fmt == "JPEG":
        raise MaskError(
            f"mask '{path.name}' is a JPEG: lossy compression invents labels along every edge; "
            "save it as PNG (palette or grayscale, one value per object)"
        )
    mask = read_index_mask(path)
    warnings: list[str] = []
    if mode != "P":
        stray = [v for v in stray_labels(mask) if v != 0]
        solid = set(np.unique(mask).tolist()) - set(stray) - {0}
        if stray and solid:
            mask = snap_labels(mask, stray)
            shown = ", ".join(map(str, stray[:12])) + (", ..." if len(stray) > 12 else "")
            warnings.append(
                f"mask '{path.name}': values {shown} appear only as thin edges (soft or resized edges), "
                "not as objects; snapped them to the neighbouring labels. Save masks without smoothing"
            )
        values = set(np.unique(mask).tolist()) - {0}
        if values == {255} and void_label == 255:
            mask = (mask == 255).astype(np.uint8)
            warnings.append(f"mask '{path.name}' is black/white (0 and 255): read as one object, label 1")
    void_pixels = 0
    if void_label is not None:
        void = mask == void_label
        void_pixels = int(void.sum())
        if void_pixels:
            mask = np.where(void, 0, mask).astype(np.uint8)
            warnings.append(
                f"mask '{path.name}': {void_pixels} pixels have label {void_label} (DAVIS 'void'): ignored, not tracked"
            )
    labels = [int(v) for v in np.unique(mask) if v]
    if not labels:
        raise MaskError(f"mask '{path.name}' has no object (all pixels are 0" + (" or void)" if void_pixels else ")"))
    if len(labels) > max_objects:
        raise MaskError(
            f"mask '{path.name}' has {len(labels)} objects (labels {labels[:5]}...); at most {max_objects} are supported"
        )
    return Annotation(mask.astype(np.uint8), labels, void_pixels, warnings)
