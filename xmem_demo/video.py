"""Video in and out: streaming frame access and the result formats other tools read.

Reading: video files (mp4, mov, webm, avi, mkv through decord; gif through Pillow) and
folders of frames (jpg/png, in natural name order). Frames are decoded on demand, so
memory does not grow with the clip's length. Writing: DAVIS-style palette PNG index masks
and H.264 MP4 (yuv420p, faststart) that browsers play.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Literal

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import MaskError, VideoError
from .palette import PALETTE

VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm", ".avi", ".mkv")
GIF_EXTENSIONS = (".gif",)
FRAME_EXTENSIONS = (".jpg", ".jpeg", ".png")
SUPPORTED = VIDEO_EXTENSIONS + GIF_EXTENSIONS


@dataclass(frozen=True)
class VideoInfo:
    path: str
    num_frames: int
    fps: float
    width: int
    height: int
    kind: Literal["video", "frames", "gif"]

    def describe(self) -> str:
        seconds = self.num_frames / self.fps if self.fps else 0
        return f"{self.num_frames} frames, {self.width}x{self.height}, {self.fps:.3g} fps ({seconds:.1f} s)"


def _natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


class VideoSource:
    """Random and streaming access to a clip's RGB frames (H x W x 3 uint8)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise VideoError(f"'{self.path}': file or folder not found")
        self._reader = None
        self._files: list[Path] = []
        self._gif: Image.Image | None = None
        if self.path.is_dir():
            self._open_folder()
        else:
            ext = self.path.suffix.lower()
            if ext in VIDEO_EXTENSIONS:
                self._open_video()
            elif ext in GIF_EXTENSIONS:
                self._open_gif()
            else:
                raise VideoError(
                    f"'{self.path.name}': unsupported file type '{ext or '(none)'}'; "
                    f"supported: {', '.join(SUPPORTED)} or a folder of {'/'.join(FRAME_EXTENSIONS)} frames"
                )

    # ---- opening --------------------------------------------------------------------------
    def _open_folder(self) -> None:
        files = [p for p in self.path.iterdir() if p.suffix.lower() in FRAME_EXTENSIONS]
        if not files:
            raise VideoError(f"'{self.path}': folder holds no {'/'.join(FRAME_EXTENSIONS)} frames")
        self._files = sorted(files, key=lambda p: _natural_key(p.name))
        first = self._read_image(self._files[0])
        self.info = VideoInfo(str(self.path), len(self._files), 24.0, first.shape[1], first.shape[0], "frames")

    def _open_video(self) -> None:
        import decord

        if self.path.stat().st_size == 0:
            raise VideoError(f"'{self.path.name}': the file is empty")
        try:
            reader = decord.VideoReader(str(self.path), ctx=decord.cpu(0))
            num = len(reader)
            first = reader[0].asnumpy() if num else None
        except decord.DECORDError as err:
            raise VideoError(f"'{self.path.name}': cannot decode this video ({str(err).splitlines()[0][:160]})") from None
        except (RuntimeError, IndexError) as err:
            raise VideoError(f"'{self.path.name}': cannot decode this video ({err})") from None
        if not num or first is None:
            raise VideoError(f"'{self.path.name}': the video has no frames")
        self._reader = reader
        fps = float(reader.get_avg_fps() or 0) or 24.0
        self.info = VideoInfo(str(self.path), num, fps, first.shape[1], first.shape[0], "video")

    def _open_gif(self) -> None:
        try:
            gif = Image.open(self.path)
            num = getattr(gif, "n_frames", 1)
            gif.seek(0)
            first = np.asarray(gif.convert("RGB"))
        except (UnidentifiedImageError, OSError) as err:
            raise VideoError(f"'{self.path.name}': cannot read this GIF ({err})") from None
        duration = gif.info.get("duration") or 100
        self._gif = gif
        self.info = VideoInfo(str(self.path), num, 1000.0 / duration, first.shape[1], first.shape[0], "gif")

    def _read_image(self, path: Path) -> np.ndarray:
        try:
            with Image.open(path) as im:
                return np.asarray(im.convert("RGB"))
        except (UnidentifiedImageError, OSError) as err:
            raise VideoError(f"'{path}': cannot read this frame ({err})") from None

    # ---- access ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.info.num_frames

    def get(self, index: int) -> np.ndarray:
        if not 0 <= index < len(self):
            raise IndexError(f"frame {index} outside 0..{len(self) - 1}")
        if self._reader is not None:
            return self._reader[index].asnumpy()
        if self._gif is not None:
            self._gif.seek(index)
            return np.asarray(self._gif.convert("RGB"))
        frame = self._read_image(self._files[index])
        if frame.shape[:2] != (self.info.height, self.info.width):
            raise VideoError(f"'{self._files[index].name}' is {frame.shape[1]}x{frame.shape[0]}, other frames are "
                             f"{self.info.width}x{self.info.height}")
        return frame

    def iter_frames(self, start: int = 0, stop: int | None = None, step: int = 1, batch: int = 16) -> Iterator[np.ndarray]:
        """Frames start, start+step, ... < stop, decoded a small batch at a time."""
        stop = len(self) if stop is None else min(stop, len(self))
        indices = list(range(start, stop, step))
        if self._reader is None:
            for i in indices:
                yield self.get(i)
            return
        for k in range(0, len(indices), batch):
            chunk = indices[k : k + batch]
            yield from self._reader.get_batch(chunk).asnumpy()

    def close(self) -> None:
        self._reader = None
        if self._gif is not None:
            self._gif.close()
            self._gif = None

    def __enter__(self) -> "VideoSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_video(path: str | Path) -> VideoSource:
    return VideoSource(path)


# ---- resizing ------------------------------------------------------------------------------
def working_shape(height: int, width: int, size: int | None) -> tuple[int, int]:
    """(h, w) with the short side equal to `size` (None or -1: unchanged)."""
    if size in (None, -1):
        return height, width
    scale = size / min(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_short_side(frame: np.ndarray, size: int | None) -> np.ndarray:
    h, w = frame.shape[:2]
    nh, nw = working_shape(h, w, size)
    if (nh, nw) == (h, w):
        return frame
    interp = cv2.INTER_AREA if nh < h else cv2.INTER_CUBIC
    return cv2.resize(frame, (nw, nh), interpolation=interp)


# ---- masks ---------------------------------------------------------------------------------
def read_index_mask(path: str | Path) -> np.ndarray:
    """Read an index mask: palette PNG (indices), grayscale (values) or RGB (colours -> indices)."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            mode = im.mode
            if mode == "P":
                return np.asarray(im).astype(np.uint8)
            if mode in ("L", "I;16", "I"):
                arr = np.asarray(im)
                if arr.max() > 255:
                    raise MaskError(f"'{path.name}': label values up to {arr.max()} (at most 255 are supported)")
                return arr.astype(np.uint8)
            rgb = np.asarray(im.convert("RGB"))
    except FileNotFoundError:
        raise MaskError(f"mask '{path}' not found") from None
    except (UnidentifiedImageError, OSError) as err:
        raise MaskError(f"cannot read mask '{path}' ({err})") from None
    return _rgb_to_index(rgb, path.name)


def _rgb_to_index(rgb: np.ndarray, name: str) -> np.ndarray:
    """Map each colour to a label: DAVIS palette colours to their index, others in order."""
    colours, inverse = np.unique(rgb.reshape(-1, 3), axis=0, return_inverse=True)
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
    for i, colour in enumerate(keys):
        if colour == (0, 0, 0):
            continue
        if colour in palette_index:
            labels[i] = palette_index[colour]
            continue
        while next_label in used:
            next_label += 1
        labels[i] = next_label
        used.add(next_label)
    warnings.warn(f"'{name}' is an RGB image; converted its {len(keys)} colours to object labels", stacklevel=3)
    return labels[inverse.ravel()].reshape(rgb.shape[:2]).astype(np.uint8)


def check_mask_shape(mask: np.ndarray, shape: tuple[int, int]) -> None:
    if mask.shape[:2] != tuple(shape):
        raise MaskError(
            f"mask is {mask.shape[0]}x{mask.shape[1]} (HxW) but the frame is {shape[0]}x{shape[1]}; "
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


def write_mask_sequence(out_dir: str | Path, masks, start_index: int = 0) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, mask in enumerate(masks):
        p = out / f"{start_index + i:05d}.png"
        write_index_mask(p, mask)
        paths.append(p)
    return paths


# ---- MP4 -----------------------------------------------------------------------------------
class Mp4Writer:
    """H.264 MP4 (yuv420p, faststart): plays in browsers. Odd sizes are padded to even."""

    def __init__(self, path: str | Path, fps: float = 24.0, crf: int = 20) -> None:
        self.path = Path(path)
        self.fps = float(fps) if fps and fps > 0 else 24.0
        self.crf = crf
        self._writer = None
        self._size: tuple[int, int] | None = None
        self.frames_written = 0

    def write(self, frame: np.ndarray) -> None:
        import imageio_ffmpeg

        frame = np.asarray(frame, np.uint8)
        h, w = frame.shape[:2]
        if self._writer is None:
            self._size = (w + w % 2, h + h % 2)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = imageio_ffmpeg.write_frames(
                str(self.path), self._size, fps=self.fps, codec="libx264", pix_fmt_out="yuv420p",
                output_params=["-crf", str(self.crf), "-movflags", "+faststart"], macro_block_size=1,
            )
            self._writer.send(None)
        if (w + w % 2, h + h % 2) != self._size:
            raise ValueError(f"frame size {w}x{h} differs from the video's {self._size}")
        if (w, h) != self._size:
            padded = np.zeros((self._size[1], self._size[0], 3), np.uint8)
            padded[:h, :w] = frame
            frame = padded
        self._writer.send(np.ascontiguousarray(frame))
        self.frames_written += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> "Mp4Writer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
