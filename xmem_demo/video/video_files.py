"""Video files (mp4, mov, webm, avi, mkv) through decord (optional) and OpenCV.

`DecordReader` is the accelerator where decord is installed (its wheels exist for Linux
x86_64 and Windows only; `pip install xmem-demo[decord]`): batched random access, faster
than PyAV (pyav_files.py, the default). It mis-strides a few narrow videos, which PyAV then
reads. Damaged files, of which only the decodable start is used, are read sequentially by
OpenCV's ffmpeg (`DamagedVideoReader`). Which one serves a file is decided in
`choose.choose_reader`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np

from ..errors import VideoError
from .readers import DEFAULT_FPS, READ_BATCH, DecoderFailed, OneByOne, VideoInfo, first_line


class DecordReader:
    """Video files through decord: random access and batched streaming, where decord is installed.

    Opening decodes the first frame and, with `check_end`, the last one, so that a truncated
    file is found now rather than at a random frame mid-run (raises `DecoderFailed`).
    `mis_strided` is True for the few narrow videos (e.g. 16 or 48 pixels wide) whose frames
    decord returns with the wrong stride; those must be read by PyAV instead.
    """

    backend: ClassVar[str] = "decord"
    damage: str | None = None

    def __init__(self, path: Path, check_end: bool = True) -> None:
        import decord

        self.path = path
        try:
            reader = decord.VideoReader(str(path), ctx=decord.cpu(0))
            num = len(reader)
            first = reader[0].asnumpy() if num else None
            if num > 1 and check_end:
                reader[num - 1].asnumpy()  # a truncated file fails here, not at a random frame mid-run
                reader.seek(0)
        except decord.DECORDError as err:
            if "cannot find video stream" in str(err):
                raise VideoError(f"'{path.name}': the file has no video stream (no frames)") from None
            raise DecoderFailed(first_line(err)) from None
        except (RuntimeError, IndexError) as err:
            raise DecoderFailed(first_line(err)) from None
        if not num or first is None:
            raise VideoError(f"'{path.name}': the video has no frames")
        self._reader = reader
        self.mis_strided = not (first.ndim == 3 and first.shape[2] == 3)
        fps = float(reader.get_avg_fps() or 0) or DEFAULT_FPS
        self.info = VideoInfo(str(path), num, fps, first.shape[1], first.shape[0], "video")

    def get(self, index: int) -> np.ndarray:
        import decord

        try:
            return self._reader[index].asnumpy()
        except decord.DECORDError as err:
            raise VideoError(f"'{self.path.name}': cannot decode frame {index} ({first_line(err)})") from None

    def get_batch(self, indices: Sequence[int]) -> Iterator[np.ndarray]:
        """One decord call for the whole batch (far faster than frame by frame)."""
        import decord

        try:
            frames = self._reader.get_batch(list(indices)).asnumpy()
        except decord.DECORDError as err:
            raise VideoError(
                f"'{self.path.name}': cannot decode frames {indices[0]}..{indices[-1]} ({first_line(err)})"
            ) from None
        return iter(frames)

    def close(self) -> None:
        self._reader = None


class OpenCVReader(OneByOne):
    """Video files through OpenCV's ffmpeg, frame by frame (the base of DamagedVideoReader).

    The number of frames and the frame rate come from the caller (the frames counted in a
    damaged file); the size from the first frame. Sequential reads are
    cheap; a jump backwards or far ahead seeks.
    """

    backend: ClassVar[str] = "opencv"

    def __init__(self, path: Path, num_frames: int, fps: float) -> None:
        self.path = path
        self._cap = self._open()
        self._next = 0  # index of the frame the next read() returns
        first = self.get(0)
        self.info = VideoInfo(str(path), num_frames, fps, first.shape[1], first.shape[0], "video")

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


class DamagedVideoReader(OpenCVReader):
    """The decodable start of a damaged file (truncated or corrupt): frames 0 .. last decodable.

    Sequential decoding from the start is deterministic, so a damaged clip gives the same
    frames on every run; `damage` says how much of it is usable. `reason` (the decoder's own
    text: source file names, error numbers) means nothing to the user and is not shown.
    """

    def __init__(self, path: Path, reason: str = "") -> None:
        self.reason = reason
        cap = cv2.VideoCapture(str(path))
        declared = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if cap.isOpened() else 0
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0) if cap.isOpened() else 0.0
        count = 0
        while cap.isOpened() and cap.grab():
            count += 1
        cap.release()
        if count == 0:
            raise VideoError(
                f"'{path.name}': no frame of this file can be decoded (not a video, or damaged); "
                "check that it plays, or convert it (e.g. ffmpeg -i in.mov out.mp4)"
            )
        super().__init__(path, num_frames=count, fps=fps or DEFAULT_FPS)
        of = f" of the {declared} it announces" if declared > count else ""
        self.damage = (
            f"'{path.name}' is damaged (truncated or corrupt): only frames 0..{count - 1}{of} can be decoded; "
            "using those"
        )


