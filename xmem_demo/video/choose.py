"""Which reader decodes a clip: the one place that decides.

    folder                   -> FrameFolderReader (jpg/png frames, natural name order)
    .gif                     -> GifReader
    .mp4 .mov .webm .avi .mkv -> DecordReader, the fast common case, unless
        decord mis-strides the frames (some narrow videos)       -> OpenCVReader
        decord cannot read the whole file (truncated, corrupt)    -> DamagedVideoReader
                                                                     (its decodable start)
    anything else            -> VideoError naming the file and listing what is supported

Files that cannot be used at all raise `VideoError` with the file's name and the reason in
the user's terms (not found, empty, no video stream, no frames, nothing decodable).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import VideoError
from .image_files import FrameFolderReader, GifReader
from .readers import FRAME_EXTENSIONS, FrameReader
from .video_files import DamagedVideoReader, DecoderFailed, DecordReader, OpenCVReader

VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm", ".avi", ".mkv")
GIF_EXTENSIONS = (".gif",)
SUPPORTED = VIDEO_EXTENSIONS + GIF_EXTENSIONS  # the files the app accepts (app/limits.py)


def choose_reader(path: str | Path, check_end: bool = True) -> FrameReader:
    """The reader for a video file, a GIF or a folder of frames, opened; raises VideoError.

    check_end: decode a video file's last frame now, so that a truncated file is found at
    open (and read up to its last decodable frame) rather than failing mid-run."""
    path = Path(path)
    if not path.exists():
        raise VideoError(f"'{path}': file or folder not found")
    if path.is_dir():
        return FrameFolderReader(path)
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
    """decord where it reads the file correctly, else OpenCV (see the module docstring)."""
    if path.stat().st_size == 0:
        raise VideoError(f"'{path.name}': the file is empty")
    try:
        reader = DecordReader(path, check_end=check_end)
    except DecoderFailed as failure:
        return DamagedVideoReader(path, reason=failure.reason)
    if not reader.mis_strided:
        return reader
    num_frames, fps = reader.info.num_frames, reader.info.fps  # decord counts correctly, only strides wrong
    reader.close()
    return OpenCVReader(path, num_frames=num_frames, fps=fps)
