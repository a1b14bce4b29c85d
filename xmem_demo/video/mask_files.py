"""Index masks as files: DAVIS-style palette PNGs in and out, and the one mask-size check.

An index mask is H x W uint8, 0 = background, 1..255 = object ids. `read_index_mask`
accepts what people actually save (palette, grayscale, RGB drawings); `masks.read_annotation`
adds the checks an annotation needs on top of it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import MaskError
from ..palette import PALETTE
from .pillow import ImageRefused, open_checked

# Alpha at or above this is opaque: an object's pixel. Below it (transparent, or the faint half
# of an anti-aliased edge) the pixel is background, whatever colour it stores.
OPAQUE = 128


@contextmanager
def open_mask_image(path: Path) -> Iterator[Image.Image]:
    """Pillow's image of a mask file; what goes wrong while opening or reading it is a
    MaskError that names the file (missing, a folder, a FIFO, not an image, truncated, too
    many pixels: checked on the header, before decoding)."""
    try:
        with open_checked(path) as im:
            yield im
    except ImageRefused as err:
        raise MaskError(f"mask {err}") from None
    except FileNotFoundError:
        raise MaskError(f"mask '{path}' not found") from None
    except IsADirectoryError:
        raise MaskError(f"mask '{path}' is a folder; give a PNG file") from None
    except (UnidentifiedImageError, OSError) as err:
        raise MaskError(f"cannot read mask '{path}' ({err})") from None


def read_index_mask(path: str | Path) -> np.ndarray:
    """Read an H x W uint8 index mask (0 = background).

    Palette PNG: its indices. Grayscale: its values. RGB/RGBA: each colour becomes a label
    (DAVIS palette colours their palette index, black 0, others the next free labels in order
    of first appearance), with a warning. Alpha means what it shows: a transparent pixel
    (alpha < OPAQUE, in RGBA, LA, PA, or a palette's transparent index) is background,
    whatever colour it stores. Raises MaskError if the file cannot be used.
    """
    path = Path(path)
    with open_mask_image(path) as im:
        mode = im.mode
        transparent = _transparent(im)
        if mode in ("P", "PA"):
            arr = np.asarray(im.getchannel(0) if mode == "PA" else im).astype(np.uint8)
        elif mode in ("1", "L", "LA", "I;16", "I", "I;16B", "I;16L"):
            arr = np.asarray(im.getchannel(0) if mode == "LA" else im)
            if arr.max() > 255:
                raise MaskError(f"'{path.name}': label values up to {arr.max()} (at most 255 are supported)")
            arr = arr.astype(np.uint8)
        else:
            rgb = np.asarray(im.convert("RGB")).copy()
            if transparent is not None:
                rgb[transparent] = 0  # background before colours become labels: no label for it
            return _rgb_to_index(rgb, path.name)
    if transparent is not None:
        arr = np.where(transparent, 0, arr).astype(np.uint8)
    return arr


def _transparent(im: Image.Image) -> np.ndarray | None:
    """H x W bool: pixels the image shows as transparent (None if it has no transparency)."""
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        return np.asarray(im.getchannel("A")) < OPAQUE
    key = im.info.get("transparency")
    if key is None:
        return None
    if im.mode == "P" and isinstance(key, int):
        return np.asarray(im) == key
    if im.mode == "P" and isinstance(key, bytes):  # alpha per palette entry
        alpha = np.frombuffer(key, np.uint8)
        lut = np.full(256, 255, np.uint8)
        lut[: len(alpha)] = alpha
        return lut[np.asarray(im)] < OPAQUE
    if im.mode in ("L", "RGB"):  # one colour keyed as transparent
        return np.asarray(im.convert("RGBA").getchannel("A")) < OPAQUE
    return None


def _rgb_to_index(rgb: np.ndarray, name: str) -> np.ndarray:
    """Map each colour to a label: DAVIS palette colours to their index, others in order of appearance."""
    colours, first, inverse = np.unique(rgb.reshape(-1, 3), axis=0, return_index=True, return_inverse=True)
    if len(colours) > 64:
        raise MaskError(
            f"'{name}': {len(colours)} distinct colours; this looks like a photo or an anti-aliased drawing, "
            "not an index mask. Save masks as palette (P) or grayscale PNG with one value per object"
        )
    palette_index = {tuple(c): i for i, c in enumerate(PALETTE.tolist())}
    keys = [tuple(c) for c in colours.tolist()]
    used = {palette_index[c] for c in keys if c in palette_index}
    labels = np.zeros(len(keys), np.int64)
    next_label = 1
    for i in np.argsort(first, kind="stable"):
        colour = keys[i]
        if colour == (0, 0, 0):
            continue
        if colour in palette_index:
            labels[i] = palette_index[colour]
            continue
        while next_label in used:
            next_label += 1
        labels[i] = next_label
        used.add(next_label)
    mapping = ", ".join(f"{keys[i]}->{labels[i]}" for i in np.argsort(first, kind="stable"))
    warnings.warn(
        f"'{name}' is an RGB image, not an index mask; converted its {len(keys)} colours to labels: {mapping}",
        stacklevel=3,
    )
    return labels[inverse.ravel()].reshape(rgb.shape[:2]).astype(np.uint8)


def check_mask_shape(mask: np.ndarray, shape: tuple[int, int], what: str = "mask") -> None:
    """Raise MaskError unless the mask's height and width (its last two dims: an H x W index
    mask or an N x H x W stack) equal `shape` (h, w). `what` names the mask in the message
    (e.g. "the mask for frame 3")."""
    if tuple(mask.shape[-2:]) != tuple(shape[:2]):
        raise MaskError(
            f"{what} is {mask.shape[-2]}x{mask.shape[-1]} but the frame is {shape[0]}x{shape[1]} (height x width); "
            "draw the mask on a frame of this video at its original resolution"
        )


def write_index_mask(path: str | Path, mask: np.ndarray) -> None:
    """Save an index mask as a DAVIS-palette PNG."""
    mask = np.asarray(mask)
    if mask.max(initial=0) > 255:
        raise MaskError("labels above 255 cannot be stored in a palette PNG")
    im = Image.fromarray(mask.astype(np.uint8), mode="P")
    im.putpalette(PALETTE.ravel().tolist())
    im.save(path)


def write_mask_sequence(out_dir: str | Path, masks: Iterable[np.ndarray], start_index: int = 0) -> list[Path]:
    """Write masks as DAVIS-style palette PNGs 00000.png, 00001.png, ... (numbered from start_index)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, mask in enumerate(masks):
        p = out / f"{start_index + i:05d}.png"
        write_index_mask(p, mask)
        paths.append(p)
    return paths
