"""Every limit that bounds memory, disk or time, in one place.

The command line, the Python API (`pipeline.track`) and the app all enforce these numbers
and quote them in their messages; docs/bad_inputs.md lists what happens beyond each one.

Why the working-pixel bound: XMem reads memory with an affinity between every query
position and every memory position, both on the stride-16 feature grid (Sec. 3.3). With
T_max working-memory frames of h x w working pixels the affinity alone holds about
T_max * (h*w/256)^2 float32 values: 0.1 GB at 480p, 2.7 GB at 1080p and 42 GB at 4K
(T_max = 10). 4K at its native size therefore asked for hundreds of GB; the bound below
keeps one run near or under a few GB.
"""

from __future__ import annotations

from .geometry import FrameGeometry  # the stride-16 grid, defined once

# ---- frames --------------------------------------------------------------------------------
MIN_SIDE = 16  # pixels: frames (and clips) smaller than this in either dimension are refused
MAX_WORKING_PIXELS = 1920 * 1080  # pixels per frame at the working resolution (1080p)
MIN_WORKING_SIZE = 32  # smallest short side accepted for --size (two cells of the stride-16 grid)
# Image files (frames of a folder, GIFs, masks) are refused above this many pixels, checked on
# the header before decoding: 8192 x 8192 (67 MP, 200 MB as RGB), more than an 8K frame.
# A decompression bomb (a 35-byte GIF declaring 65535 x 65535) never reaches the decoder.
MAX_IMAGE_PIXELS = 8192 * 8192

# ---- objects and labels --------------------------------------------------------------------
MAX_OBJECTS = 20  # objects tracked at once (each adds a value encoding per memory frame)
VOID_LABEL = 255  # DAVIS "void" (unlabelled) pixels: ignored, not tracked as an object

# ---- weights downloads ---------------------------------------------------------------------
DOWNLOAD_DEADLINE_S = 30 * 60.0  # a whole download must finish within this (XMem.pth is ~250 MB)
DOWNLOAD_STALL_S = 60.0  # ... and never go this long without receiving a byte

# ---- outputs -------------------------------------------------------------------------------
DISK_MARGIN_BYTES = 256 * 2**20  # --save-probs is refused unless this much would remain free


def estimate_affinity_bytes(height: int, width: int, memory_frames: int = 10) -> int:
    """float32 bytes of the working-memory affinity for one frame of h x w working pixels."""
    rows, cols = FrameGeometry.for_frame((height, width)).grid_hw
    cells = rows * cols
    return 4 * memory_frames * cells * cells


def working_pixels_message(height: int, width: int, size_hint: str = "--size") -> str:
    """The one-line explanation used by every front end when the bound is exceeded."""
    gb = estimate_affinity_bytes(height, width) / 1e9
    return (
        f"{width}x{height} working pixels ({height * width / 1e6:.1f} MP) exceed the limit of "
        f"{MAX_WORKING_PIXELS / 1e6:.1f} MP per frame (1080p; memory read alone would need ~{gb:.0f} GB); "
        f"choose a smaller {size_hint} (e.g. 480, the official default)"
    )
