#!/usr/bin/env python3
"""bf16 with the weights cast once at load against bf16 autocast casting them every frame, and
both against fp32 (issue 22, item 3), side by side in one process, frame by frame.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python3 benchmarks/bf16_weights.py --weights golden --size 240 --frames 30

Three sessions on the bundled judo clip take each frame in turn (rotating order):
* fp32           - the default inference network;
* bf16 autocast  - the same float32 network under bf16 autocast (what sessions ran before):
                   autocast converts every decoder and value-encoder weight on every call;
* bf16 once      - `InferenceSession(..., precision="bf16")`: the decoder's and value encoder's
                   weights are bf16 copies made at load (query encoder and memory stay fp32).
Printed: seconds per frame (frames 2..), ratios, and mask agreement (mean / min IoU per frame
over objects and background-excluded labels) of each bf16 mode with fp32 and of the two bf16
modes with each other (they should be identical: autocast casts to the same values).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    labels = [v for v in np.union1d(np.unique(a), np.unique(b)) if v != 0]
    scores = []
    for v in labels:
        inter, union = np.logical_and(a == v, b == v).sum(), np.logical_or(a == v, b == v).sum()
        scores.append(inter / union if union else 1.0)
    return float(np.mean(scores)) if scores else 1.0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", default="golden")
    p.add_argument("--size", type=int, default=240)
    p.add_argument("--frames", type=int, default=30)
    p.add_argument("--json", type=Path)
    args = p.parse_args()

    from weights_spec import resolve_weights
    from xmem_demo import InferenceSession, MemoryConfig, load_model
    from xmem_demo.hardware import native_bf16_cpu
    from xmem_demo.resources import EXAMPLE_CLIP, EXAMPLE_MASK
    from xmem_demo.session import inference_network
    from xmem_demo.video import open_video, read_index_mask

    if args.weights in ("mini", "lite"):
        from xmem_demo.weights import resolve_model

        model, _ = resolve_model(args.weights, allow_download=False)
    else:
        model = load_model(resolve_weights(args.weights)[0])
    fp32_net = inference_network(model)
    channels_last = inference_network(model, True)  # bf16 autocast on the layout the bf16 copy uses
    sessions = {
        "fp32": InferenceSession(fp32_net, MemoryConfig(), working_size=args.size),
        "bf16 autocast": InferenceSession(channels_last, MemoryConfig(), working_size=args.size, precision="bf16"),
        "bf16 once": InferenceSession(model, MemoryConfig(), working_size=args.size, precision="bf16"),
    }
    print(sessions["bf16 once"].model.inference_report.summary(), flush=True)
    mask = read_index_mask(EXAMPLE_MASK)
    times = {n: [] for n in sessions}
    masks = {n: [] for n in sessions}
    names = list(sessions)
    load_before = os.getloadavg()[0]
    with open_video(EXAMPLE_CLIP) as video:
        for t in range(min(args.frames, len(video))):
            frame = video.get(t)
            for name in names[t % 3:] + names[: t % 3]:
                s = sessions[name]
                start = time.perf_counter()
                prob = s.step(frame, mask=mask if t == 0 else None)
                times[name].append(time.perf_counter() - start)
                masks[name].append(s.to_index_mask(prob))
    load_after = os.getloadavg()[0]
    per_frame = {n: float(np.mean(v[2:])) for n, v in times.items()}
    pairs = [("bf16 autocast", "fp32"), ("bf16 once", "fp32"), ("bf16 once", "bf16 autocast")]
    agree = {f"{a} vs {b}": [iou(x, y) for x, y in zip(masks[a][1:], masks[b][1:])] for a, b in pairs}
    native = native_bf16_cpu()
    print(f"\nweights {args.weights}, {args.size}p, {len(times['fp32'])} frames, {torch.get_num_threads()} thread(s), "
          f"native bf16: {native}, load average {load_before:.1f} -> {load_after:.1f}")
    for n in names:
        print(f"{n:>14}: {per_frame[n] * 1000:7.1f} ms/frame, {per_frame['fp32'] / per_frame[n]:.2f}x fp32")
    print(f"bf16 once / bf16 autocast speed-up: {per_frame['bf16 autocast'] / per_frame['bf16 once']:.2f}x")
    for k, v in agree.items():
        print(f"masks {k}: mean IoU {np.mean(v):.4f}, min {np.min(v):.4f}")
    if args.json:
        args.json.write_text(json.dumps({"weights": args.weights, "size": args.size, "threads": torch.get_num_threads(),
                                         "native_bf16": list(native), "load": [load_before, load_after],
                                         "ms_per_frame": {n: 1000 * v for n, v in per_frame.items()},
                                         "iou": {k: {"mean": float(np.mean(v)), "min": float(np.min(v))} for k, v in agree.items()}},
                                        indent=2))


if __name__ == "__main__":
    main()
