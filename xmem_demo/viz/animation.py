"""Masks played as a video, large enough to judge a mask: an H.264 MP4 embedded in the notebook.

    viz.overlay_video(frames, masks, fps=10)        # displays a looping player in Jupyter / Colab

The MP4 is written by the kit's own encoder (`xmem_demo.video.mp4.Mp4Writer`: PyAV's bundled
FFmpeg, no separate ffmpeg needed) and embedded as base64 on the <video> element, so a committed
notebook plays it in JupyterLab before it runs, on ▶ (JupyterLab drops autoplay from a notebook
it does not trust yet; checked in Chromium by
tests/browser/test_notebook_videos_browser.py; VS Code, Colab and nbviewer were not checked).
Where no video plays, the first frame with its mask is the player's poster, and
`poster_figure()` draws it as a figure when one is wanted. A short clip at modest size is
50-300 KB.
"""

from __future__ import annotations

import base64
import io
import os
import tempfile
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from ._common import _frame_getter, overlay

MAX_EMBEDDED_BYTES = 2_000_000  # keep committed notebooks small: refuse to embed a larger video


@dataclass(frozen=True)
class OverlayVideo:
    """An MP4 of frames with their masks overlaid; shows itself as an HTML5 <video> in a notebook."""

    # Left out of repr: a notebook stores an output's text/plain beside its HTML, and the bytes'
    # repr there would be about twice the size of the video itself.
    mp4: bytes = field(repr=False)
    poster_jpeg: bytes = field(repr=False)
    size: tuple[int, int]  # width, height in pixels
    fps: float
    frame_indices: tuple[int, ...]
    caption: str = ""

    def _repr_html_(self) -> str:
        # The data URI sits on <video> itself: JupyterLab sanitises the outputs of a notebook it
        # does not trust (every committed notebook, until it runs) and strips a <source> child's
        # src, leaving only the poster; the video's own src is kept and plays
        # (tests/browser/test_notebook_videos_browser.py).
        video = base64.b64encode(self.mp4).decode("ascii")
        poster = base64.b64encode(self.poster_jpeg).decode("ascii")
        caption = f"<figcaption style='font-size:90%'>{self.caption}</figcaption>" if self.caption else ""
        return (
            f"<figure style='margin:0'><video width='{self.size[0]}' height='{self.size[1]}' controls loop autoplay muted"
            f" playsinline poster='data:image/jpeg;base64,{poster}' src='data:video/mp4;base64,{video}'>"
            f"</video>{caption}</figure>"
        )

    def save(self, path: str | os.PathLike) -> None:
        """Write the MP4 to a file (e.g. to put it on a slide)."""
        with open(path, "wb") as f:
            f.write(self.mp4)

    def poster_figure(self, width: float = 6.0) -> Figure:
        """The first frame as a matplotlib figure (for readers whose viewer plays no video)."""
        image = np.asarray(Image.open(io.BytesIO(self.poster_jpeg)))
        fig = Figure(figsize=(width, width * image.shape[0] / image.shape[1]), layout="constrained")
        ax = fig.add_subplot()
        ax.imshow(image)
        ax.axis("off")
        if self.caption:
            ax.set_title(self.caption, fontsize=9)
        return fig


def _label(image: np.ndarray, text: str) -> np.ndarray:
    """The frame number drawn in the top-left corner (white on a dark box)."""
    from PIL import ImageDraw

    im = Image.fromarray(image)
    draw = ImageDraw.Draw(im)
    box = draw.textbbox((4, 3), text)
    draw.rectangle((box[0] - 3, box[1] - 2, box[2] + 3, box[3] + 2), fill=(0, 0, 0))
    draw.text((4, 3), text, fill=(255, 255, 255))
    return np.asarray(im)


def overlay_video(
    frames: Sequence[np.ndarray] | object,
    masks: Sequence[np.ndarray] | Mapping[int, np.ndarray],
    fps: float = 10.0,
    width: int = 480,
    indices: Sequence[int] | None = None,
    caption: str = "",
    crf: int = 26,
) -> OverlayVideo:
    """Frames with their index masks tinted and outlined (`viz.overlay`), played as a looping video.

    frames: a list of H x W x 3 uint8 frames, a FrameSource or a getter t -> frame. masks: one index
    mask per frame (a sequence or {t: mask}). width: the video's width in pixels (frames are scaled
    bilinearly, masks nearest-neighbour, then overlaid, so the outline stays one pixel wide). Each frame carries its number.
    """
    get = _frame_getter(frames)
    if indices is None:
        indices = sorted(masks) if isinstance(masks, Mapping) else range(len(masks))
    indices = [int(t) for t in indices]
    if not indices:
        raise ValueError("no frames to play: give at least one mask")
    from ..video.mp4 import Mp4Writer

    first = get(indices[0])
    scale = width / first.shape[1]
    out_hw = (max(2, int(round(first.shape[0] * scale / 2)) * 2), max(2, int(round(width / 2)) * 2))
    poster = None
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "overlay.mp4")
        with Mp4Writer(path, fps=fps, crf=crf) as writer:
            for t in indices:
                size = (out_hw[1], out_hw[0])
                frame = np.asarray(Image.fromarray(np.asarray(get(t), np.uint8)).resize(size, Image.Resampling.BILINEAR))
                mask = np.asarray(Image.fromarray(np.asarray(masks[t], np.uint8)).resize(size, Image.Resampling.NEAREST))
                big = _label(overlay(frame, mask), f"frame {t}")
                if poster is None:
                    buffer = io.BytesIO()
                    Image.fromarray(big).save(buffer, format="JPEG", quality=80)
                    poster = buffer.getvalue()
                writer.write(big)
        with open(path, "rb") as f:
            mp4 = f.read()
    if len(mp4) > MAX_EMBEDDED_BYTES:
        raise ValueError(
            f"the video is {len(mp4) / 1e6:.1f} MB, more than a notebook should embed "
            f"({MAX_EMBEDDED_BYTES / 1e6:.0f} MB): pass a smaller width, fewer indices or a larger crf"
        )
    return OverlayVideo(mp4=mp4, poster_jpeg=poster, size=(out_hw[1], out_hw[0]), fps=fps,
                        frame_indices=tuple(indices), caption=caption)


__all__ = ["MAX_EMBEDDED_BYTES", "OverlayVideo", "overlay_video"]
