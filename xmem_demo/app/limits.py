"""Every limit and default of the app, in one place (the UI quotes them to the user)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..limits import MAX_OBJECTS as _LIB_MAX_OBJECTS
from ..limits import MAX_WORKING_PIXELS as _LIB_MAX_WORKING_PIXELS
from ..limits import MIN_SIDE as _LIB_MIN_SIDE
from ..live import LiveConfig
from ..live.recorder import MAX_RECORDED_FRAMES
from ..video import SUPPORTED

# Clips: refused beyond these, with a message saying so.
MAX_FRAMES = 20_000  # frames in one clip (about 11 minutes at 30 fps)
MAX_SIDE = 4096  # pixels on the long side: 4K (3840 x 2160, 4096 x 2160) is the largest input
MAX_SHORT_SIDE = 2160  # pixels on the short side
# Uploads (app/clip_tab/uploads.py): per file (Gradio's max_file_size, refused while streaming) and in
# total over Gradio's cache (uploads arriving beyond it are deleted and refused). 1 GB holds a
# 4K clip of several minutes; 8 GB is what the cache may hold at once, all visitors together.
MAX_UPLOAD_BYTES = int(os.environ.get("XMEM_DEMO_MAX_UPLOAD_MB", 1024)) * 2**20
MAX_UPLOAD = f"{MAX_UPLOAD_BYTES // 2**20}mb"  # Gradio's spelling of it
MAX_UPLOAD_TOTAL_BYTES = int(os.environ.get("XMEM_DEMO_UPLOAD_TOTAL_MB", 8192)) * 2**20
# What xmem_demo.video opens (video files and GIFs): one list. Not named VIDEO_EXTENSIONS:
# xmem_demo.video.VIDEO_EXTENSIONS is the video files alone (no GIF).
CLIP_EXTENSIONS = SUPPORTED
MASK_EXTENSIONS = (".png",)

# Objects: one label id each (1..MAX_OBJECTS) in the uint8 index masks (the library's limit).
MAX_OBJECTS = _LIB_MAX_OBJECTS
MIN_SIDE = _LIB_MIN_SIDE  # clips smaller than this (pixels, either side) are refused

# Interaction: what the browser is sent and what click-to-mask works on.
DISPLAY_MAX_SIDE = 960  # frames shown for clicking are resized to this long side
PREVIEW_INTERVAL_S = 0.5  # live preview and memory plot refresh at most this often
MAX_PLOT_POINTS = 2000  # the memory plot is subsampled beyond this many frames

# Tracking: the processing ("working") resolution is the short side inside the network.
WORKING_SIZES = (160, 240, 360, 480, 600, 720)
DEFAULT_WORKING_SIZE_GPU = 480  # the official XMem default
DEFAULT_WORKING_SIZE_CPU = 360  # faster on CPU, still good on most clips
MAX_CONCURRENT_RUNS = 2  # tracking runs at once on one server (all visitors together)

# Temporary files: each visitor gets one folder (inside Gradio's cache folder, so that results
# are served from it without a second copy). It is removed when the tab closes, or, for every
# kind of client (browser or direct HTTP API), when the session has been idle this long:
SESSION_TTL_S = int(os.environ.get("XMEM_DEMO_SESSION_TTL_S", 3600))
# The janitor (app/janitor.py) sweeps every this many seconds: session folders idle beyond
# SESSION_TTL_S + SWEEP_EVERY_S (e.g. sessions Gradio evicted without a callback), and
# folders left by earlier server processes (at start-up).
SWEEP_EVERY_S = int(os.environ.get("XMEM_DEMO_SWEEP_EVERY_S", 600))
# Gradio's own cache (uploads, frames sent to the browser): files older than CACHE_MAX_AGE_S
# are deleted every CACHE_SWEEP_EVERY_S (Gradio's delete_cache), and all of them on shutdown.
CACHE_SWEEP_EVERY_S = 600
CACHE_MAX_AGE_S = 2 * 3600  # > SESSION_TTL_S: a live session keeps its results

# Working pixels: the library's bound (xmem_demo/limits.py), quoted here for the UI.
MAX_WORKING_PIXELS = _LIB_MAX_WORKING_PIXELS


@dataclass(frozen=True)
class LiveLimits:
    """Bounds of the Live tab (one server, all visitors); where the live library has a default,
    it is that default."""

    max_side: int = LiveConfig.max_side  # camera frames are shrunk to this long side on arrival
    stream_every_s: float = 0.1  # the browser sends a frame at most this often (<= 10 fps)
    time_limit_s: int = 600  # one camera stream runs at most this long (press Record again to go on)
    max_streams: int = 2  # live streams segmented at once on one server
    max_objects: int = 5
    max_recorded_frames: int = MAX_RECORDED_FRAMES  # frames recorded for the download (tracking goes on after)
    display_side: int = LiveConfig.max_side  # the frozen frame is shown at this long side for clicking


LIMITS = LiveLimits()


def limits_markdown() -> str:
    """The limits as one short paragraph for the UI."""
    exts = ", ".join(e.lstrip(".") for e in CLIP_EXTENSIONS)
    return (
        f"**Limits:** clips up to {MAX_FRAMES:,} frames and {MAX_SIDE}×{MAX_SHORT_SIDE} pixels (4K), "
        f"uploads up to {MAX_UPLOAD_BYTES / 2**30:g} GB each and {MAX_UPLOAD_TOTAL_BYTES / 2**30:g} GB for all "
        "visitors together (refused uploads are deleted at once, others after 2 hours); "
        f"formats {exts}; up to {MAX_OBJECTS} objects. Long clips are fine: choose a frame range "
        "and a processing resolution; frames are decoded on demand, never all at once."
    )
