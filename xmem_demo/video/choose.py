"""Which reader decodes a clip: the one place that decides.

    folder                   -> FrameFolderReader (jpg/png frames, natural name order)
    .gif                     -> GifReader
    .mp4 .mov .webm .avi .mkv -> the video decoder (`video_decoder()`):
        PyAVReader, the default (wheels on every platform), or
        DecordReader where decord is installed (faster), unless decord mis-strides the
            frames (some narrow videos)                          -> PyAVReader
        the decoder cannot read the whole file (truncated, corrupt) -> DamagedVideoReader
                                                                     (its decodable start)
    anything else            -> VideoError naming the file and listing what is supported

Files that cannot be used at all raise `VideoError` with the file's name and the reason in
the user's terms (not found, empty, no video stream, no frames, nothing decodable).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from ..errors import VideoError
from .image_files import FrameFolderReader, GifReader
from .pyav_files import PyAVReader
from .readers import FRAME_EXTENSIONS, DecoderFailed, FrameReader
from .video_files import DamagedVideoReader, DecordReader
from .pillow import ImageRefused, check_regular_file

VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm", ".avi", ".mkv")
GIF_EXTENSIONS = (".gif",)
SUPPORTED = VIDEO_EXTENSIONS + GIF_EXTENSIONS  # the files the app accepts (app/limits.py)
DECODERS = ("auto", "pyav", "decord")
DECODER_ENV = "XMEM_DEMO_VIDEO_DECODER"


@functools.lru_cache(maxsize=1)
def decord_usable() -> bool:
    """Whether decord imports (not only installed: a wheel whose library fails to load counts as absent)."""
    try:
        import decord  # noqa: F401
    except ImportError:
        return False
    return True


def video_decoder() -> str:
    """Which decoder reads video files: "decord" or "pyav".

    $XMEM_DEMO_VIDEO_DECODER (auto, pyav, decord; default auto) chooses; auto means decord
    where it is installed (the faster one), else PyAV. Both give the same frames."""
    wanted = os.environ.get(DECODER_ENV, "auto").strip().lower() or "auto"
    if wanted not in DECODERS:
        raise VideoError(f"{DECODER_ENV}={wanted!r}: give one of {', '.join(DECODERS)}")
    has_decord = decord_usable()
    if wanted == "decord" and not has_decord:
        raise VideoError(f"{DECODER_ENV}=decord but decord is not installed (pip install decord; "
                         "its wheels exist for Linux x86_64 and Windows only); unset it to use PyAV")
    if wanted == "auto":
        return "decord" if has_decord else "pyav"
    return wanted


def choose_reader(path: str | Path, check_end: bool = True) -> FrameReader:
    """The reader for a video file, a GIF or a folder of frames, opened; raises VideoError.

    check_end: decode a video file's last frame now, so that a truncated file is found at
    open (and read up to its last decodable frame) rather than failing mid-run."""
    path = Path(path)
    if not path.exists():
        raise VideoError(f"'{path}': file or folder not found")
    if path.is_dir():
        return FrameFolderReader(path)
    try:
        check_regular_file(path)  # a FIFO would block the decoder forever, /dev/zero never ends
    except ImageRefused as err:
        raise VideoError(str(err)) from None
    ext = path.suffix.lower()
    if ext in GIF_EXTENSIONS:
        return GifReader(path)
    if ext in VIDEO_EXTENSIONS:
        return choose_video_file_reader(path, check_end)
    raise VideoError(
        f"'{path.name}': unsupported file type '{ext or '(none)'}'; "
        f"supported: {', '.join(SUPPORTED)} or a folder of {'/'.join(FRAME_EXTENSIONS)} frames"
    )


def choose_video_file_reader(path: Path, check_end: bool = True) -> FrameReader:
    """decord where installed and it reads the file correctly, else PyAV (see the module docstring)."""
    if path.stat().st_size == 0:
        raise VideoError(f"'{path.name}': the file is empty")
    try:
        if video_decoder() == "decord":
            reader = DecordReader(path, check_end=check_end)
            if not reader.mis_strided:
                return reader
            reader.close()
        return PyAVReader(path, check_end=check_end)
    except DecoderFailed as failure:
        return DamagedVideoReader(path, reason=failure.reason)
