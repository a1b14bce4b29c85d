#!/usr/bin/env python3
"""Live tracking on this machine: FPS, dropped frames and capture-to-result latency.

    python benchmarks/live_fps.py                       # mini model, camera at 30 fps, 20 s per size
    python benchmarks/live_fps.py --seconds 30 --sizes auto 128 160 240 --json out.json

A 30 fps "camera" is the bundled judo clip played in real time (`ClipPlayer`, newest frame
wins, exactly as the notebook and a real camera behave); each processing size runs for
`--seconds`, one after another in the same process, and the figures of each run are printed
side by side. Per frame it runs what the app's stream handler runs for a visitor
(`LiveSession.on_frame`: size cap, `InferenceSession.step`, recording of mask PNG, overlay
MP4 frame and trace row) and, with --render, the JPEG overlay and status HTML sent back.

Latency = capture (the moment the frame appeared on the "camera") -> result ready on the
server: it includes the wait for the tracker to become free. The browser adds the JPEG
upload, the page update and `stream_every` (0.1 s) of capture cadence; tests and
benchmarks/live_browser.py measure that path.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xmem_demo.live import ClipPlayer, LiveConfig, LiveRecorder, LiveTracker, choose_processing_size  # noqa: E402
from xmem_demo.resources import EXAMPLE_CLIP, EXAMPLE_MASK  # noqa: E402
from xmem_demo.video import read_index_mask  # noqa: E402
from xmem_demo.weights import resolve_model  # noqa: E402


def run(model, size_arg, seconds: float, camera_fps: float, render: bool, folder: Path) -> dict:
    first_mask = read_index_mask(EXAMPLE_MASK)
    if render:
        from xmem_demo.app.live_tab.layout import image_html  # imports Gradio: before the camera starts
    config = LiveConfig(processing_size=None if size_arg == "auto" else int(size_arg))
    t0 = time.perf_counter()
    choice = choose_processing_size(model, config, first_mask.shape)  # before the camera starts
    choose_s = time.perf_counter() - t0
    player = ClipPlayer(EXAMPLE_CLIP, fps=camera_fps, duration_s=seconds, max_side=640)
    frames = iter(player)
    first = next(frames)
    tracker = LiveTracker(model, config, choice)
    recorder = LiveRecorder(folder / f"size-{size_arg}", fps=config.target_fps)
    recorder.add(tracker.start(first.image, first_mask))

    latency, steps, handler = [], [], []
    started = time.monotonic()
    for frame in frames:
        t = time.perf_counter()
        result = tracker.step(frame.image, frame.captured_at, player.dropped)
        recorder.add(result, frame.captured_at)
        if render:
            image_html(result.overlay())
        handler.append(time.perf_counter() - t)
        latency.append(result.latency_s)
        steps.append(result.step_s)
    wall = time.monotonic() - started
    recorder.finish()
    n = len(latency)
    if n == 0:
        raise SystemExit(f"no frame segmented in {seconds} s at size {size_arg}: give it more --seconds")
    return {
        "size": choice.size,
        "asked": size_arg,
        "reason": choice.reason,
        "choose_seconds": round(choose_s, 2),
        "frames_segmented": n,
        "frames_dropped": player.dropped,
        "fps": round(n / wall, 2),
        "latency_ms_mean": round(1000 * float(np.mean(latency)), 1),
        "latency_ms_p50": round(1000 * float(np.median(latency)), 1),
        "latency_ms_p95": round(1000 * float(np.percentile(latency, 95)), 1),
        "step_ms_mean": round(1000 * float(np.mean(steps)), 1),
        "handler_ms_mean": round(1000 * float(np.mean(handler)), 1),
        "memory_mib": round(tracker.stats.total_memory_bytes / 2**20, 2),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default="mini")
    p.add_argument("--sizes", nargs="+", default=["auto", "128", "160", "240"])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--camera-fps", type=float, default=30.0)
    p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", 1)))
    p.add_argument("--no-render", action="store_true", help="leave out the JPEG overlay the app sends back")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    model, weights = resolve_model(args.weights, allow_download=False)
    print(weights.notice)
    print(f"torch {torch.__version__}, {args.threads} thread(s), {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f} at start; camera: judo clip at {args.camera_fps:g} fps, {args.seconds:g} s per size")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            rows.append(run(model, size, args.seconds, args.camera_fps, not args.no_render, Path(tmp)))
            r = rows[-1]
            print(f"{r['asked']:>5} -> {r['size']:4d} px | {r['fps']:5.2f} FPS | {r['frames_segmented']:4d} segmented, "
                  f"{r['frames_dropped']:4d} dropped | latency mean {r['latency_ms_mean']:6.0f} ms, p50 "
                  f"{r['latency_ms_p50']:6.0f}, p95 {r['latency_ms_p95']:6.0f} | step {r['step_ms_mean']:5.0f} ms | "
                  f"per frame incl. recording+JPEG {r['handler_ms_mean']:5.0f} ms | memory {r['memory_mib']:.2f} MiB", flush=True)
            if r["asked"] == "auto":
                print(f"        auto: {r['reason']} (choosing took {r['choose_seconds']} s)")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if args.json:
        args.json.write_text(json.dumps({"weights": args.weights, "threads": args.threads, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
