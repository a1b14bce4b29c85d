"""Why the backward pass was slow, and what the readahead changes: side by side, in one run.

    python -m benchmarks.backward_read                      # a generated 1280x720 H.264 clip, keyframe every 60
    python -m benchmarks.backward_read --clip VIDEO --frames 40 --weights mini --size 360

1. Decoding only: frames/s reading the clip forward, backward frame by frame (what the
   backward pass did), and backward through `ReverseReadahead` (what it does now).
2. Tracking (`pipeline.run_direction`, the loop the app and CLI run): frames/s of a forward
   pass and of a backward pass over the same number of frames from the same middle anchor,
   the backward one once without and once with the readahead. The passes run one after the
   other under the same load; the forward pass is run again at the end to show drift.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def make_clip(path: Path, frames: int, width: int, height: int, gop: int) -> Path:
    import imageio_ffmpeg

    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         f"testsrc2=size={width}x{height}:rate=30", "-frames:v", str(frames), "-c:v", "libx264",
         "-pix_fmt", "yuv420p", "-g", str(gop), str(path)],
        check=True, timeout=600,
    )
    return path


def rate(fn, indices) -> float:
    t0 = time.perf_counter()
    for i in indices:
        fn(i)
    return len(indices) / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clip", help="a video file (default: generate 1280x720 H.264, keyframe every --gop frames)")
    p.add_argument("--gop", type=int, default=60)
    p.add_argument("--frames", type=int, default=30, help="frames per tracking pass (default: %(default)s)")
    p.add_argument("--weights", default="mini")
    p.add_argument("--size", type=int, default=360, help="working size of the tracking passes (app CPU default)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)

    import torch

    from xmem_demo import MemoryConfig
    from xmem_demo.pipeline import run_direction
    from xmem_demo.readahead import ReverseReadahead, readahead_window
    from xmem_demo.video import open_video
    from xmem_demo.weights import resolve_model

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(args.clip) if args.clip else make_clip(Path(tmp) / "hd.mp4", 2 * args.frames + 2, 1280, 720,
                                                            args.gop)
        video = open_video(clip)
        n = len(video)
        window = readahead_window(video.get(0).nbytes)
        print(f"clip: {clip.name if args.clip else f'generated 1280x720 H.264, keyframe every {args.gop}'}, "
              f"{n} frames {video.info.width}x{video.info.height}; readahead window {window} frames")
        backward_order = list(range(n - 1, -1, -1))
        decode = {
            "forward": rate(video.get, list(range(n))),
            "backward, frame by frame": rate(video.get, backward_order),
            "backward, readahead": rate(ReverseReadahead(video, window).get, backward_order),
        }
        for name, fps in decode.items():
            print(f"decode {name:26s} {fps:7.1f} frames/s")

        model, _ = resolve_model(args.weights, allow_download=False)
        anchor = min(args.frames, n - 1 - args.frames) if n > 2 * args.frames else n // 2
        mask = np.zeros(video.get(anchor).shape[:2], np.uint8)
        h, w = mask.shape
        mask[h // 4 : h // 2, w // 3 : w // 2] = 1

        def track_fps(source, order) -> float:
            t0 = time.perf_counter()
            count = sum(1 for _ in run_direction(model, source, order, {anchor: mask}, MemoryConfig(),
                                                 working_size=args.size))
            return count / (time.perf_counter() - t0)

        forward = list(range(anchor, min(n, anchor + args.frames)))
        backward = list(range(anchor, max(-1, anchor - args.frames), -1))
        passes = {
            "forward": track_fps(video, forward),
            "backward, frame by frame (before)": track_fps(video, backward),
            "backward, readahead (now)": track_fps(ReverseReadahead(video, window), backward),
            "forward again": track_fps(video, forward),
        }
        print(f"tracking ({args.weights}, working size {args.size}, {len(forward)} frames per pass, "
              f"{torch.get_num_threads()} thread(s)):")
        for name, fps in passes.items():
            print(f"  {name:34s} {fps:6.2f} frames/s")
        fwd = (passes["forward"] + passes["forward again"]) / 2
        print(f"backward / forward speed: before {passes['backward, frame by frame (before)'] / fwd:.2f}, "
              f"now {passes['backward, readahead (now)'] / fwd:.2f}")
        video.close()
    return {"decode": decode, "tracking": passes}


if __name__ == "__main__":
    main()
