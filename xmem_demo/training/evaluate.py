"""Held-out synthetic benchmark: J&F of a model on clips it never saw in training.

    python -m xmem_demo.training.evaluate --weights mini --clips 20 --frames 100

Clip seeds start at `synthetic.BENCHMARK_SEED_BASE`, a range the training sampler refuses,
so the benchmark is held out by construction. Reported as the field does (DAVIS
convention, `xmem_demo.metrics`): per clip J, F and J&F averaged over objects, then the
mean over clips, and J&F per segment of the clip (how it moves with clip length).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass

import numpy as np
import torch

from .. import metrics, synthetic
from ..config import MemoryConfig
from ..model import XMem
from ..pipeline import ArraySource, track


@dataclass(frozen=True)
class BenchmarkSpec:
    clips: int = 20
    frames: int = 100
    height: int = 96
    width: int = 96
    first_seed: int = synthetic.BENCHMARK_SEED_BASE

    def seeds(self) -> range:
        return range(self.first_seed, self.first_seed + self.clips)


class ClipSource(ArraySource):
    """A synthetic clip as a FrameSource (frames generated on demand)."""

    def __init__(self, clip: "synthetic.SyntheticClip") -> None:
        self.clip = clip

    def __len__(self) -> int:
        return self.clip.num_frames

    def get(self, index: int) -> np.ndarray:
        return self.clip.frame(index)[0]


def make_clip(seed: int, spec: BenchmarkSpec) -> "synthetic.SyntheticClip":
    return synthetic.make_clip(seed, height=spec.height, width=spec.width, num_frames=spec.frames)


def evaluate_clip(model: XMem, clip, config: MemoryConfig, segments: int = 4) -> dict:
    gt = np.stack([clip.frame(t)[1] for t in range(clip.num_frames)])
    pred = np.zeros_like(gt)
    for result in track(model, ClipSource(clip), {0: gt[0]}, config, working_size=None):
        pred[result.index] = result.mask
    ids = sorted(int(v) for v in np.unique(gt[0]) if v)
    overall = metrics.jf(pred, gt, object_ids=ids)
    bounds = np.linspace(0, clip.num_frames, segments + 1).astype(int)
    per_segment = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        # Segments are scored on all their frames (the first/last exclusion applies to whole clips).
        seg = metrics.jf(pred[a:b], gt[a:b], object_ids=ids, skip_first_last=False)
        per_segment.append(seg["J&F"])
    return {"J": overall["J"], "F": overall["F"], "J&F": overall["J&F"], "segments": per_segment}


def repeat_first_mask_baseline(clip) -> float:
    """J&F of a 'model' that repeats the first-frame mask: what tracking must beat."""
    gt = np.stack([clip.frame(t)[1] for t in range(clip.num_frames)])
    pred = np.repeat(gt[:1], len(gt), 0)
    ids = sorted(int(v) for v in np.unique(gt[0]) if v)
    return metrics.jf(pred, gt, object_ids=ids)["J&F"]


def evaluate(model: XMem, spec: BenchmarkSpec, config: MemoryConfig = MemoryConfig(), verbose: bool = True) -> dict:
    rows = []
    started = time.perf_counter()
    for seed in spec.seeds():
        clip = make_clip(seed, spec)
        row = {"seed": seed, **evaluate_clip(model, clip, config), "repeat_first_mask": repeat_first_mask_baseline(clip)}
        rows.append(row)
        if verbose:
            print(f"clip {seed}: J&F {row['J&F']:.3f} (J {row['J']:.3f}, F {row['F']:.3f}); "
                  f"repeat-first-mask {row['repeat_first_mask']:.3f}", flush=True)
    summary = {
        "clips": spec.clips,
        "frames": spec.frames,
        "resolution": f"{spec.width}x{spec.height}",
        "J": float(np.mean([r["J"] for r in rows])),
        "F": float(np.mean([r["F"] for r in rows])),
        "J&F": float(np.mean([r["J&F"] for r in rows])),
        "J&F_by_segment": [float(np.mean([r["segments"][i] for r in rows])) for i in range(len(rows[0]["segments"]))],
        "repeat_first_mask_J&F": float(np.mean([r["repeat_first_mask"] for r in rows])),
        "seconds": round(time.perf_counter() - started, 1),
    }
    return {"summary": summary, "clips": rows}


def main(argv: list[str] | None = None) -> None:
    from ..weights import resolve_model

    p = argparse.ArgumentParser(description="J&F on the held-out synthetic benchmark")
    p.add_argument("--weights", default="mini")
    p.add_argument("--clips", type=int, default=BenchmarkSpec.clips)
    p.add_argument("--frames", type=int, default=BenchmarkSpec.frames)
    p.add_argument("--size", type=int, default=BenchmarkSpec.height, help="clips are size x size")
    p.add_argument("--mem-every", type=int, default=MemoryConfig.mem_every)
    p.add_argument("--json", help="write the full results here")
    args = p.parse_args(argv)
    torch.set_grad_enabled(False)
    model, weights = resolve_model(args.weights)
    print(weights.notice)
    spec = BenchmarkSpec(clips=args.clips, frames=args.frames, height=args.size, width=args.size)
    result = evaluate(model, spec, MemoryConfig(mem_every=args.mem_every))
    s = result["summary"]
    print(f"\n{s['clips']} held-out clips x {s['frames']} frames at {s['resolution']}: "
          f"J&F {s['J&F']:.3f} (J {s['J']:.3f}, F {s['F']:.3f}); repeat-first-mask baseline {s['repeat_first_mask_J&F']:.3f}")
    print("J&F by quarter of the clip:", " ".join(f"{v:.3f}" for v in s["J&F_by_segment"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
