"""Video in and out: streaming frame access and the result formats other tools read.

Reading: video files (mp4, mov, webm, avi, mkv through decord; gif through Pillow) and
folders of frames (jpg/png, in natural name order). Frames are decoded on demand, so
memory does not grow with the clip's length. Writing: DAVIS-style palette PNG index masks
and H.264 MP4 (yuv420p, faststart) that browsers play.
"""

from __future__ import annotations

import functools
import re
import subprocess
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import MaskError, VideoError
from .geometry import working_shape  # the one definition of the working size
from .palette import PALETTE

VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm", ".avi", ".mkv")
GIF_EXTENSIONS = (".gif",)
FRAME_EXTENSIONS = (".jpg", ".jpeg", ".png")
SUPPORTED = VIDEO_EXTENSIONS + GIF_EXTENSIONS
READ_BATCH = 16  # frames decord decodes per get_batch call while streaming

# MP4 encoders in order of preference. The ffmpeg bundled with imageio-ffmpeg has libx264;
# the others are fallbacks for unusual ffmpeg builds (mpeg4 is not H.264: browsers may not play it).
MP4_ENCODERS = ("libx264", "libopenh264", "mpeg4")


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
    """'frame10.png' sorts after 'frame9.png'."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part.lower()) for part in re.split(r"(\d+)", name)]


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:160]


class _OpenCVFrames:
    """Frame access through OpenCV's ffmpeg, for the few files decord decodes wrongly.

    decord returns mis-strided frames for some very narrow videos (e.g. 16 or 48 pixels
    wide). Sequential reads are cheap; a jump backwards or far ahead seeks.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cap = self._open()
        self._next = 0  # index of the frame the next read() returns

    def _open(self) -> cv2.VideoCapture:
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise VideoError(f"'{self.path.name}': cannot decode this video (OpenCV could not open it)")
        return cap

    def _decode_forward(self, index: int) -> np.ndarray | None:
        while self._next < index:
            if not self._cap.grab():
                return None
            self._next += 1
        ok, frame = self._cap.read()
        return frame if ok else None

    def get(self, index: int) -> np.ndarray:
        if self._next <= index < self._next + READ_BATCH:
            frame = self._decode_forward(index)
        else:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = self._cap.read()
            frame = frame if ok else None
        if frame is None:  # seeking fails in some files (e.g. one-frame clips): decode from the start
            self._cap.release()
            self._cap, self._next = self._open(), 0
            frame = self._decode_forward(index)
        if frame is None:
            raise VideoError(f"'{self.path.name}': cannot decode frame {index}")
        self._next = index + 1
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._cap.release()


class VideoSource:
    """Random and streaming access to a clip's RGB frames (H x W x 3 uint8).

    `backend` says what decodes: "decord", "opencv" (fallback), "pillow" (GIF, frame folders).
    """

    def __init__(self, path: str | Path, check_end: bool = True) -> None:
        """check_end: decode the last frame at open, so that a truncated file is found now (and
        read up to its last decodable frame) rather than failing mid-run."""
        self.path = Path(path)
        self.check_end = check_end
        if not self.path.exists():
            raise VideoError(f"'{self.path}': file or folder not found")
        self._reader = None
        self._cv: _OpenCVFrames | None = None
        self._files: list[Path] = []
        self._gif: Image.Image | None = None
        self.backend = "pillow"
        self.damage: str | None = None  # set when only part of a damaged file can be decoded
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
        files = [p for p in self.path.iterdir()
                 if p.suffix.lower() in FRAME_EXTENSIONS and not p.name.startswith(".") and p.is_file()]
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
            if num > 1 and self.check_end:
                reader[num - 1].asnumpy()  # a truncated file fails here, not at a random frame mid-run
                reader.seek(0)
        except decord.DECORDError as err:
            if "cannot find video stream" in str(err):
                raise VideoError(f"'{self.path.name}': the file has no video stream (no frames)") from None
            self._open_damaged(_first_line(err))
            return
        except (RuntimeError, IndexError) as err:
            self._open_damaged(_first_line(err))
            return
        if not num or first is None:
            raise VideoError(f"'{self.path.name}': the video has no frames")
        fps = float(reader.get_avg_fps() or 0) or 24.0
        if first.ndim == 3 and first.shape[2] == 3:
            self._reader, self.backend = reader, "decord"
        else:  # decord mis-strides some narrow videos; OpenCV reads them correctly
            del reader
            self._cv, self.backend = _OpenCVFrames(self.path), "opencv"
            first = self._cv.get(0)
        self.info = VideoInfo(str(self.path), num, fps, first.shape[1], first.shape[0], "video")

    def _open_damaged(self, reason: str) -> None:
        """decord cannot read the whole file: keep the frames that decode, counted once, in order.

        Sequential decoding from the start is deterministic, so a damaged clip gives the same
        frames (0 .. last decodable) on every run, with `damage` saying so in the user's terms.
        """
        cap = cv2.VideoCapture(str(self.path))
        declared = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if cap.isOpened() else 0
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0) if cap.isOpened() else 0.0
        count = 0
        while cap.isOpened() and cap.grab():
            count += 1
        cap.release()
        if count == 0:
            # decord's own text (source file names, error numbers) means nothing to the user: not shown
            raise VideoError(
                f"'{self.path.name}': no frame of this file can be decoded (not a video, or damaged); "
                "check that it plays, or convert it (e.g. ffmpeg -i in.mov out.mp4)"
            )
        self._cv, self.backend = _OpenCVFrames(self.path), "opencv"
        first = self._cv.get(0)
        of = f" of the {declared} it announces" if declared > count else ""
        self.damage = (
            f"'{self.path.name}' is damaged (truncated or corrupt): only frames 0..{count - 1}{of} can be decoded; "
            "using those"
        )
        self.info = VideoInfo(str(self.path), count, fps or 24.0, first.shape[1], first.shape[0], "video")

    def _open_gif(self) -> None:
        try:
            gif = Image.open(self.path)
        except (UnidentifiedImageError, OSError) as err:
            raise VideoError(f"'{self.path.name}': cannot read this GIF ({err})") from None
        try:
            num = getattr(gif, "n_frames", 1)
            gif.seek(0)
            first = np.asarray(gif.convert("RGB"))
        except (EOFError, OSError) as err:
            gif.close()
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
        """Frame `index` as H x W x 3 uint8 RGB (decoded now; raises VideoError if it cannot be)."""
        if not 0 <= index < len(self):
            raise IndexError(f"frame {index} outside 0..{len(self) - 1}")
        if self._reader is not None:
            import decord

            try:
                return self._reader[index].asnumpy()
            except decord.DECORDError as err:
                raise VideoError(f"'{self.path.name}': cannot decode frame {index} ({_first_line(err)})") from None
        if self._cv is not None:
            return self._cv.get(index)
        if self._gif is not None:
            try:
                self._gif.seek(index)
                return np.asarray(self._gif.convert("RGB"))
            except (EOFError, OSError) as err:
                raise VideoError(f"'{self.path.name}': cannot decode frame {index} ({err})") from None
        frame = self._read_image(self._files[index])
        if frame.shape[:2] != (self.info.height, self.info.width):
            raise VideoError(f"'{self._files[index].name}' is {frame.shape[1]}x{frame.shape[0]}, other frames are "
                             f"{self.info.width}x{self.info.height}")
        return frame

    def iter_frames(
        self, start: int = 0, stop: int | None = None, step: int = 1, batch: int = READ_BATCH
    ) -> Iterator[np.ndarray]:
        """Frames start, start+step, ... (< stop), decoded on demand: at most `batch` frames are held at once."""
        if start < 0 or step < 1 or batch < 1:
            raise ValueError(f"iter_frames needs start >= 0, step >= 1 and batch >= 1 (got {start}, {step}, {batch})")
        stop = len(self) if stop is None else min(stop, len(self))
        indices = range(start, stop, step)
        if self._reader is None:
            for i in indices:
                yield self.get(i)
            return
        import decord

        for k in range(0, len(indices), batch):
            chunk = list(indices[k : k + batch])
            try:
                frames = self._reader.get_batch(chunk).asnumpy()
            except decord.DECORDError as err:
                raise VideoError(
                    f"'{self.path.name}': cannot decode frames {chunk[0]}..{chunk[-1]} ({_first_line(err)})"
                ) from None
            yield from frames
            del frames

    def close(self) -> None:
        self._reader = None
        if self._cv is not None:
            self._cv.close()
            self._cv = None
        if self._gif is not None:
            self._gif.close()
            self._gif = None

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_video(path: str | Path, check_end: bool = True) -> VideoSource:
    """Open a video file, a GIF or a folder of frames; raises VideoError with the reason.

    check_end=False skips decoding the last frame (for a clip already checked once)."""
    return VideoSource(path, check_end=check_end)


# ---- resizing ------------------------------------------------------------------------------
def resize_short_side(frame: np.ndarray, size: int | None) -> np.ndarray:
    """Resize so the short side is `size` (INTER_AREA down, INTER_CUBIC up); None or -1 keeps it."""
    h, w = frame.shape[:2]
    nh, nw = working_shape(h, w, size)
    if (nh, nw) == (h, w):
        return frame
    interp = cv2.INTER_AREA if nh < h else cv2.INTER_CUBIC
    return cv2.resize(frame, (nw, nh), interpolation=interp)


# ---- masks ---------------------------------------------------------------------------------
def read_index_mask(path: str | Path) -> np.ndarray:
    """Read an H x W uint8 index mask (0 = background).

    Palette PNG: its indices. Grayscale: its values. RGB/RGBA: each colour becomes a label
    (DAVIS palette colours their palette index, black 0, others the next free labels in order
    of first appearance), with a warning. Raises MaskError if the file cannot be used.
    """
    path = Path(path)
    try:
        with Image.open(path) as im:
            mode = im.mode
            if mode == "P":
                return np.asarray(im).astype(np.uint8)
            if mode in ("1", "L", "LA", "I;16", "I"):
                arr = np.asarray(im.getchannel(0) if mode == "LA" else im)
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


def check_mask_shape(mask: np.ndarray, shape: tuple[int, int]) -> None:
    """Raise MaskError unless the mask's height and width (its last two dims: an H x W index
    mask or an N x H x W stack) equal `shape` (h, w)."""
    if tuple(mask.shape[-2:]) != tuple(shape[:2]):
        raise MaskError(
            f"mask is {mask.shape[-2]}x{mask.shape[-1]} but the frame is {shape[0]}x{shape[1]} (height x width); "
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


# ---- MP4 -----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def mp4_encoder() -> str:
    """The first of MP4_ENCODERS that the ffmpeg of imageio-ffmpeg provides (checked once)."""
    import imageio_ffmpeg

    try:
        listing = subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-encoders"],
            capture_output=True, text=True, timeout=60, check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return MP4_ENCODERS[0]
    names = {line.split()[1] for line in listing.splitlines() if len(line.split()) > 1}
    for encoder in MP4_ENCODERS:
        if encoder in names:
            return encoder
    return MP4_ENCODERS[0]  # let ffmpeg report the problem when writing


def _quality_params(encoder: str, crf: int) -> list[str]:
    if encoder == "libx264":
        return ["-crf", str(crf), "-preset", "medium"]
    if encoder == "mpeg4":
        return ["-q:v", "3"]
    return ["-b:v", "4M"]


class Mp4Writer:
    """Write RGB frames to an MP4 that browsers play: H.264 (libx264), yuv420p, moov atom first.

    Odd widths and heights are padded to even with black (yuv420p needs even sizes). Use as a
    context manager; the file is complete once closed. `encoder` names the codec used.
    """

    def __init__(self, path: str | Path, fps: float = 24.0, crf: int = 20) -> None:
        self.path = Path(path)
        self.fps = float(fps) if fps and fps > 0 else 24.0
        self.crf = crf
        self.encoder = mp4_encoder()
        self._writer = None
        self._size: tuple[int, int] | None = None
        self.frames_written = 0

    def write(self, frame: np.ndarray) -> None:
        """Append one H x W x 3 uint8 RGB frame (gray H x W and RGBA are accepted too)."""
        import imageio_ffmpeg

        frame = np.asarray(frame)
        if frame.dtype != np.uint8:
            raise ValueError(f"frames must be uint8, got {frame.dtype}")
        if frame.ndim == 2:
            frame = np.repeat(frame[..., None], 3, axis=2)
        if frame.ndim != 3 or frame.shape[2] not in (3, 4):
            raise ValueError(f"frames must be H x W x 3 RGB, got shape {frame.shape}")
        frame = frame[..., :3]
        h, w = frame.shape[:2]
        if self._writer is None:
            self._size = (w + w % 2, h + h % 2)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = imageio_ffmpeg.write_frames(
                str(self.path), self._size, fps=self.fps, codec=self.encoder, pix_fmt_out="yuv420p",
                output_params=[*_quality_params(self.encoder, self.crf), "-movflags", "+faststart"],
                macro_block_size=1,
            )
            self._writer.send(None)  # start ffmpeg
        if (w + w % 2, h + h % 2) != self._size:
            raise ValueError(f"frame size {w}x{h} differs from the video's {self._size[0]}x{self._size[1]}")
        if (w, h) != self._size:
            padded = np.zeros((self._size[1], self._size[0], 3), np.uint8)
            padded[:h, :w] = frame
            frame = padded
        self._writer.send(np.ascontiguousarray(frame))
        self.frames_written += 1

    def close(self) -> None:
        """Finish the file (ffmpeg writes the index and moves it to the front)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
