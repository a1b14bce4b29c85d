"""Live tracking: XMem on a camera, frame by frame as it films (UI-free; the app and notebook 07 use it).

    from xmem_demo.live import LiveTracker, ClipPlayer
    tracker = LiveTracker(model)                      # chooses the processing size for this device
    source = ClipPlayer("clip.mp4")                   # or CameraSource(0): newest frame wins
    for n, frame in enumerate(source):
        if n == 0:
            result = tracker.start(frame.image, first_mask)
        else:
            result = tracker.step(frame.image, frame.captured_at, source.dropped)
        show(result.overlay(), tracker.stats)

Modules: frames (checks, size cap, the newest-wins slot), sources (camera, clip in real
time), tracker (LiveTracker, processing-size choice, live figures), recorder (downloads).
"""

from .frames import FrameError, LatestFrame, LiveFrame, as_rgb_frame, cap_frame_size
from .recorder import LiveDownloads, LiveRecorder
from .sources import CameraSource, ClipPlayer, open_live_source
from .tracker import (
    LiveConfig,
    LiveResult,
    LiveStats,
    LiveTracker,
    SizeChoice,
    choose_processing_size,
    labels_from_masks,
)

__all__ = [
    "FrameError",
    "LatestFrame",
    "LiveFrame",
    "cap_frame_size",
    "as_rgb_frame",
    "LiveDownloads",
    "LiveRecorder",
    "CameraSource",
    "ClipPlayer",
    "open_live_source",
    "LiveConfig",
    "LiveResult",
    "LiveStats",
    "LiveTracker",
    "SizeChoice",
    "choose_processing_size",
    "labels_from_masks",
]
