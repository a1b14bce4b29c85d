"""The offline models side by side: does it track real video? (issue 19's targets)

    python -m benchmarks.offline_models                       # lite, mini, label propagation; judo only
    python -m benchmarks.offline_models --real-clips /tmp/realclips --json benchmarks/results/offline_models.json

Trackers: every `--weights` name (an XMem network through `InferenceSession`, official memory
settings) and `labelprop` (training-free label propagation on the same frozen ImageNet trunk,
`xmem_demo.label_propagation`: the reference the trained `lite` heads must beat).

Measures, each tracker on the same inputs, at working size 240 (short side), one thread:
* **still**: one real frame fed 6 times (its mask given on the first), IoU with that mask at
  t = 5. A tracker that cannot even hold a still object fails here.
* **cycle**: 30 frames forward from the given mask, then a new session from the prediction at
  frame 29 back to frame 0; IoU with the given mask at frame 0. It rewards a mask that never
  moves as well, so it is reported next to the synthetic J&F (exact ground truth on moving
  objects) and overlays (frames 0, 10, 20, 29 and the cycle's return), which are saved.
* **synthetic J&F**: held-out synthetic clips (`xmem_demo.training.evaluate`, seeds no
  training run can draw), 20 clips x 100 frames, by quarter of the clip so drift shows, at the
  established 96 x 96 and at 240 x 240.
* **speed**: frames per second at 240 px (judo, upscaled from 186 px), one thread,
  trackers interleaved frame by frame-block so that load changes hit them alike.

Real clips: the bundled judo clip (its frame-0 mask; note that the lite model's static-image
training stage uses this same frame) and, with `--real-clips DIR`, every `DIR/*.mp4` listed in
`benchmarks/real_clips.json` with a box per clip: the first-frame mask is GrabCut from that box
(5 iterations, deterministic), as a user's box prompt would give. The clips the project
measured with are SAM 2's demo videos (facebookresearch/sam2: demo/data/gallery/*.mp4,
notebooks/videos/bedroom.mp4), which the project does not redistribute; fetch them to run this.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import torch

from xmem_demo import metrics
from xmem_demo.config import MemoryConfig
from xmem_demo.label_propagation import LabelPropagation
from xmem_demo.resources import EXAMPLE_CLIP, EXAMPLE_MASK
from xmem_demo.session import InferenceSession
from xmem_demo.training.evaluate import BenchmarkSpec, make_clip
from xmem_demo.video import open_video, read_index_mask
from xmem_demo.weights import resolve_model

HERE = Path(__file__).resolve().parent
WORKING_SIZE = 240
CYCLE_FRAMES = 30
STILL_REPEATS = 6

# A tracker for one video: step(frame, mask or None) -> index mask.
Step = Callable[[np.ndarray, "np.ndarray | None"], np.ndarray]


@dataclass
class Tracker:
    name: str
    new_video: Callable[[int | None], Step]  # (working size) -> a fresh per-video step function


def xmem_tracker(weights: str) -> Tracker:
    model, info = resolve_model(weights, allow_download=False)
    print(f"[{weights}] {info.notice}", flush=True)
    from xmem_demo.model.inference import make_inference_network

    net = make_inference_network(model)

    def new_video(working_size: int | None) -> Step:
        session = InferenceSession(net, MemoryConfig(), working_size=working_size)

        def step(frame, mask=None):
            return session.to_index_mask(session.step(frame, mask))

        return step

    return Tracker(weights, new_video)


def labelprop_tracker() -> Tracker:
    probe = LabelPropagation()  # loads the trunk once; each video gets a new state around it

    def new_video(working_size: int | None) -> Step:
        return LabelPropagation(working_size=working_size, trunk=probe.trunk).step

    return Tracker("labelprop", new_video)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of the objects (any label) of two index masks: J of their foregrounds."""
    return metrics.region_similarity(a > 0, b > 0)


# ---- real clips ---------------------------------------------------------------------------
@dataclass
class RealClip:
    name: str
    frames: list[np.ndarray]  # the first CYCLE_FRAMES frames, RGB
    mask: np.ndarray  # the given frame-0 index mask


def grabcut_from_box(frame: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = (int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h))
    mask = np.zeros((h, w), np.uint8)
    cv2.setRNGSeed(0)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), mask, (x0, y0, x1 - x0, y1 - y0), bgd, fgd, 5,
                cv2.GC_INIT_WITH_RECT)
    return np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)


def read_frames(path: Path, count: int, max_side: int = 640) -> list[np.ndarray]:
    with open_video(path) as video:
        frames = [video.get(i) for i in range(min(count, len(video)))]
    h, w = frames[0].shape[:2]
    if max(h, w) > max_side:  # decode once at a size the working size (240) never exceeds
        s = max_side / max(h, w)
        frames = [cv2.resize(f, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA) for f in frames]
    return frames


def real_clips(folder: Path | None) -> list[RealClip]:
    clips = [RealClip("judo", read_frames(EXAMPLE_CLIP, CYCLE_FRAMES), read_index_mask(EXAMPLE_MASK))]
    if folder is not None:
        boxes = json.loads((HERE / "real_clips.json").read_text())["clips"]
        for spec in boxes:
            path = folder / spec["file"]
            if not path.exists():
                print(f"skipping {spec['file']}: not in {folder}", flush=True)
                continue
            frames = read_frames(path, CYCLE_FRAMES)
            clips.append(RealClip(spec["name"], frames, grabcut_from_box(frames[0], spec["box"])))
    return clips


def still_and_cycle(tracker: Tracker, clip: RealClip) -> tuple[float, float, list[np.ndarray]]:
    step = tracker.new_video(WORKING_SIZE)
    pred = step(clip.frames[0], clip.mask)
    for _ in range(STILL_REPEATS - 1):
        pred = step(clip.frames[0], None)
    still = iou(pred, clip.mask)

    step = tracker.new_video(WORKING_SIZE)
    shown = {}
    pred = step(clip.frames[0], clip.mask)
    for t in range(1, len(clip.frames)):
        pred = step(clip.frames[t], None)
        if t in (10, 20, len(clip.frames) - 1):
            shown[t] = pred
    step = tracker.new_video(WORKING_SIZE)
    back = step(clip.frames[-1], pred)
    for t in range(len(clip.frames) - 2, -1, -1):
        back = step(clip.frames[t], None)
    cycle = iou(back, clip.mask)
    return still, cycle, [clip.mask, *shown.values(), back]


def overlay_strip(clip: RealClip, masks: list[np.ndarray], label: str) -> np.ndarray:
    times = [0, 10, 20, len(clip.frames) - 1, 0]
    tiles = []
    for t, m in zip(times, masks):
        f = clip.frames[t].astype(np.float32)
        f[m > 0] = 0.5 * f[m > 0] + 0.5 * np.array([255, 40, 40])
        tile = cv2.resize(f.astype(np.uint8), (int(160 * f.shape[1] / f.shape[0]), 160))
        tiles.append(tile)
    strip = np.concatenate(tiles, 1)
    cv2.putText(strip, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 0), 1)
    return strip


# ---- synthetic clips ------------------------------------------------------------------------
def synthetic_jf(tracker: Tracker, spec: BenchmarkSpec, quarters: int = 4) -> dict:
    rows = []
    for seed in spec.seeds():
        clip = make_clip(seed, spec)
        gt = np.stack([clip.frame(t)[1] for t in range(clip.num_frames)])
        step = tracker.new_video(None)  # the clip's own size, as the established benchmark runs
        pred = np.stack([step(clip.frame(t)[0], gt[0] if t == 0 else None) for t in range(clip.num_frames)])
        ids = sorted(int(v) for v in np.unique(gt[0]) if v)
        bounds = np.linspace(0, clip.num_frames, quarters + 1).astype(int)
        rows.append({
            "J&F": metrics.jf(pred, gt, object_ids=ids)["J&F"],
            "quarters": [metrics.jf(pred[a:b], gt[a:b], object_ids=ids, skip_first_last=False)["J&F"]
                         for a, b in zip(bounds[:-1], bounds[1:])],
        })
    return {
        "J&F": float(np.mean([r["J&F"] for r in rows])),
        "J&F_by_quarter": [float(np.mean([r["quarters"][i] for r in rows])) for i in range(quarters)],
        "clips": spec.clips, "frames": spec.frames, "size": spec.height,
    }


# ---- speed ------------------------------------------------------------------------------------
def speed(trackers: list[Tracker], frames: list[np.ndarray], mask: np.ndarray, rounds: int = 3) -> dict[str, float]:
    """FPS per tracker at 240 px: `rounds` rounds, each tracker in turn per round (same load), median."""
    times: dict[str, list[float]] = {t.name: [] for t in trackers}
    for _ in range(rounds):
        for tracker in trackers:
            step = tracker.new_video(WORKING_SIZE)
            step(frames[0], mask)
            for f in frames[1:4]:  # warm-up (allocations, weight packing)
                step(f, None)
            started = time.perf_counter()
            for f in frames[4:]:
                step(f, None)
            times[tracker.name].append((len(frames) - 4) / (time.perf_counter() - started))
    return {name: float(np.median(v)) for name, v in times.items()}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", nargs="+", default=["lite", "mini"])
    p.add_argument("--no-labelprop", action="store_true")
    p.add_argument("--real-clips", type=Path, help="folder with the clips of benchmarks/real_clips.json")
    p.add_argument("--synthetic-clips", type=int, default=20)
    p.add_argument("--synthetic-frames", type=int, default=100)
    p.add_argument("--synthetic-sizes", type=int, nargs="*", default=[96, 240])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-speed", action="store_true", help="skip the FPS measurement")
    p.add_argument("--json", type=Path)
    p.add_argument("--overlays", type=Path, help="write one overlay PNG per clip here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)

    trackers = [xmem_tracker(w) for w in args.weights]
    if not args.no_labelprop:
        trackers.append(labelprop_tracker())
    result: dict = {"cpu": _cpu(), "threads": args.threads, "working_size": WORKING_SIZE,
                    "load_average_at_start": os.getloadavg()[0], "real": {}, "synthetic": {}, "fps": {}}

    clips = real_clips(args.real_clips)
    for clip in clips:
        strips = []
        for tracker in trackers:
            still, cycle, shown = still_and_cycle(tracker, clip)
            result["real"].setdefault(tracker.name, {})[clip.name] = {"still": still, "cycle": cycle}
            print(f"{clip.name:10s} {tracker.name:10s} still {still:.3f}  cycle {cycle:.3f}", flush=True)
            strips.append(overlay_strip(clip, shown, f"{tracker.name}: still {still:.2f} cycle {cycle:.2f}"))
        if args.overlays:
            args.overlays.mkdir(parents=True, exist_ok=True)
            width = max(s.shape[1] for s in strips)
            strips = [np.pad(s, ((0, 0), (0, width - s.shape[1]), (0, 0))) for s in strips]
            cv2.imwrite(str(args.overlays / f"{clip.name}.png"), cv2.cvtColor(np.concatenate(strips), cv2.COLOR_RGB2BGR))
    for tracker in trackers:
        per_clip = result["real"][tracker.name]
        per_clip["mean"] = {k: float(np.mean([v[k] for v in per_clip.values()])) for k in ("still", "cycle")}
        print(f"{tracker.name:10s} mean over {len(clips)} real clips: still {per_clip['mean']['still']:.3f}  "
              f"cycle {per_clip['mean']['cycle']:.3f}", flush=True)

    for size in args.synthetic_sizes:
        spec = BenchmarkSpec(clips=args.synthetic_clips, frames=args.synthetic_frames, height=size, width=size)
        for tracker in trackers:
            s = synthetic_jf(tracker, spec)
            result["synthetic"].setdefault(tracker.name, {})[str(size)] = s
            print(f"synthetic {size}x{size} {tracker.name:10s} J&F {s['J&F']:.3f}  by quarter "
                  + " ".join(f"{q:.3f}" for q in s["J&F_by_quarter"]), flush=True)

    if not args.no_speed:
        result["fps"] = speed(trackers, read_frames(EXAMPLE_CLIP, 40), clips[0].mask)
        print("FPS at 240 px, one thread, side by side: " + ", ".join(f"{k} {v:.1f}" for k, v in result["fps"].items()))
    result["load_average_at_end"] = os.getloadavg()[0]
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


if __name__ == "__main__":
    main()
