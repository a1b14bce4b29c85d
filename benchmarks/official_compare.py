"""Check faithfulness yourself: the official XMem code and xmem-demo, side by side, frame by frame.

    git clone https://github.com/hkchengrex/XMem /path/to/XMem      # the official code (any checkout)
    python -m benchmarks.official_compare --official /path/to/XMem             # frames at their size
    python -m benchmarks.official_compare --official /path/to/XMem --size 120  # + eval.py's --size path

What it does, with nothing to download:
1. Builds a network with the official constructor from your checkout (`model.network.XMem`),
   seeded (`--seed`), random: the official initialisation, ResNets without ImageNet weights.
   A random network with untouched BatchNorm statistics blows up in the 50-layer ResNet, so
   the statistics are calibrated on the clip's first frames (one forward pass of both
   encoders in train mode, cumulative averages) and the decoder's last layer is scaled by 4
   so that probabilities are contrasted, as for the project's golden reference data. The
   state_dict is saved with `torch.save` in the official checkpoint format (a temporary file).
2. Loads that one file twice: into the official `InferenceCore` (through the official
   constructor, as eval.py does) and into xmem-demo (`load_model`).
3. Feeds both the bundled judo clip (or `--clip/--mask`), the mask on frame 0, with memory
   settings that make long-term memory consolidate and forget within the clip, and prints per
   frame: max and mean |prob_ours - prob_official|, the IoU of the argmax masks, and the
   working / long-term memory sizes of both. With `--size N` the official side resizes as
   eval.py --size does (image bilinear + antialias after Normalize, long side truncated; mask
   nearest; probabilities upsampled bilinearly) and xmem-demo uses working_size=N.

It ends with the worst frame of each figure and a verdict against the tolerance of the
project's golden test (max <= 0.01, mean <= 0.0003, IoU >= 0.97, equal memory sizes on every
frame); exit code 0 when within it, 1 otherwise. Random weights do not track anything; they
do not need to: both implementations must compute the same numbers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.workers import OfficialRunner, OursRunner, WorkerSpec, _import_official  # noqa: E402

TOLERANCE = {"max_abs": 0.01, "mean_abs": 0.0003, "min_iou": 0.97}  # tests/test_golden.py
# Small memory so that the 62-frame clip consolidates (T_max) and forgets (L_max) several times.
# L_max - P is not a multiple of P: the official forgetting step fails when asked to remove 0.
MEMORY = dict(mem_every=3, min_mid_term_frames=2, max_mid_term_frames=6, num_prototypes=16,
              max_long_term_elements=40, top_k=30)
CALIBRATION_FRAMES = 10


def official_random_weights(official: str, seed: int, frames: list[np.ndarray], mask: np.ndarray,
                            size: int | None, out: Path) -> Path:
    """A seeded random network from the official constructor, BatchNorm calibrated, saved as a state_dict."""
    import torch
    import torch.nn.functional as F

    from xmem_demo.session import IMAGENET_MEAN, IMAGENET_STD, pad_to_multiple

    OfficialXMem, _, _ = _import_official(official)
    torch.manual_seed(seed)
    network = OfficialXMem({})  # no weights file: the official default dimensions (C^k 64, C^v 512, C^h 64)
    mean, std = torch.tensor(IMAGENET_MEAN).view(3, 1, 1), torch.tensor(IMAGENET_STD).view(3, 1, 1)
    images, masks = [], []
    labels = [int(v) for v in np.unique(mask) if v]
    for frame in frames[:CALIBRATION_FRAMES]:
        image = (torch.from_numpy(frame).permute(2, 0, 1).float() / 255 - mean) / std
        onehot = torch.stack([torch.from_numpy(mask == lab) for lab in labels]).float()
        if size is not None:
            h, w = image.shape[-2:]
            shape = (size, int(size * w / h)) if h <= w else (int(size * h / w), size)
            image = F.interpolate(image[None], shape, mode="bilinear", align_corners=False, antialias=True)[0]
            onehot = F.interpolate(onehot[None], shape, mode="nearest")[0]
        images.append(pad_to_multiple(image)[0])
        masks.append(pad_to_multiple(onehot)[0])
    images, masks = torch.stack(images), torch.stack(masks)
    for module in network.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over the calibration pass
    network.train()
    with torch.no_grad():
        _, _, _, f16, _, _ = network.encode_key(images)
        hidden = torch.zeros(len(images), len(labels), network.hidden_dim, *f16.shape[-2:])
        network.encode_value(images, f16, hidden, masks, is_deep_update=False)
        network.decoder.pred.weight.mul_(4)
        network.decoder.pred.bias.mul_(4)
    network.eval()
    path = out / f"official-random-seed{seed}.pth"
    torch.save(network.state_dict(), path)
    return path


def object_ious(pred: np.ndarray, ref: np.ndarray, k: int) -> list[float]:
    return [float(((pred == o) & (ref == o)).sum() / max(((pred == o) | (ref == o)).sum(), 1)) for o in range(1, k + 1)]


def checkout_commit(path: str) -> str:
    try:
        return subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"


def main(argv: list[str] | None = None) -> int:
    from xmem_demo.resources import EXAMPLE_CLIP, EXAMPLE_MASK

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--official", required=True, help="path of a checkout of https://github.com/hkchengrex/XMem")
    p.add_argument("--clip", default=str(EXAMPLE_CLIP), help="video or frame folder (default: %(default)s)")
    p.add_argument("--mask", default=str(EXAMPLE_MASK), help="index mask of frame 0 (default: %(default)s)")
    p.add_argument("--frames", type=int, default=None, help="first N frames only (default: the whole clip)")
    p.add_argument("--size", type=int, default=-1,
                   help="working size (short side), as eval.py --size; -1: frames at their own size (default)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights (default: %(default)s)")
    p.add_argument("--weights", help="an official-format checkpoint to use instead of random weights")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--json", help="also write the per-frame figures and the summary here")
    args = p.parse_args(argv)

    import torch

    from xmem_demo.video import open_video, read_index_mask

    if args.threads:
        torch.set_num_threads(args.threads)
    size = None if args.size in (None, -1) else args.size
    with open_video(args.clip) as video:
        n = len(video) if args.frames is None else min(args.frames, len(video))
        frames = [video.get(t) for t in range(n)]
    mask = read_index_mask(args.mask)
    k = len([v for v in np.unique(mask) if v])
    with tempfile.TemporaryDirectory(prefix="xmem-compare-") as tmp:
        if args.weights:
            weights, described = args.weights, f"checkpoint {args.weights}"
        else:
            weights = str(official_random_weights(args.official, args.seed, frames, mask, size, Path(tmp)))
            described = f"random, seed {args.seed}, official constructor + BatchNorm calibration (official format)"
        common = dict(weights=weights, memory=dict(MEMORY), num_frames=n, working_size=size)
        ours = OursRunner(WorkerSpec("ours", "ours", **common))
        official = OfficialRunner(WorkerSpec("official", "official", official_path=args.official, **common))
        print(f"official code: {args.official} (commit {checkout_commit(args.official)})")
        print(f"weights: {described}")
        print(f"clip: {args.clip}, {n} frames {frames[0].shape[1]}x{frames[0].shape[0]}, mask {args.mask} ({k} object"
              f"{'s' if k != 1 else ''}); working size: {size or 'the frames own'}; memory: {MEMORY}")
        print(f"{'t':>3} {'max|dp|':>9} {'mean|dp|':>9} {'IoU':>6}  {'WM ours/off':>13} {'LT ours/off':>11}"
              f" {'s ours':>7} {'s off':>7}")
        rows = []
        for t, frame in enumerate(frames):
            given = mask if t == 0 else None
            end = t == n - 1
            t0 = time.perf_counter()
            p_ours = ours.step_prob(frame, given, end).float().cpu()
            t1 = time.perf_counter()
            p_off = official.step_prob(frame, given, end).float().cpu()
            t2 = time.perf_counter()
            diff = (p_ours - p_off).abs() if p_ours.shape == p_off.shape else torch.ones(1)
            ious = object_ious(p_ours.argmax(0).numpy(), p_off.argmax(0).numpy(), k)
            a, b = ours.sizes(), official.sizes()
            row = dict(frame=t, max_abs=float(diff.max()), mean_abs=float(diff.mean()), min_iou=min(ious),
                       working=[a["working_elements"], b["working_elements"]],
                       long_term=[a["long_term_elements"], b["long_term_elements"]],
                       seconds=[t1 - t0, t2 - t1])
            rows.append(row)
            print(f"{t:3d} {row['max_abs']:9.2e} {row['mean_abs']:9.2e} {row['min_iou']:6.4f}  "
                  f"{row['working'][0]:6d}/{row['working'][1]:<6d} {row['long_term'][0]:5d}/{row['long_term'][1]:<5d}"
                  f" {row['seconds'][0]:7.2f} {row['seconds'][1]:7.2f}", flush=True)
    worst = {
        "max_abs": max(rows, key=lambda r: r["max_abs"]),
        "mean_abs": max(rows, key=lambda r: r["mean_abs"]),
        "min_iou": min(rows, key=lambda r: r["min_iou"]),
    }
    memory_mismatch = [r["frame"] for r in rows if r["working"][0] != r["working"][1]
                       or r["long_term"][0] != r["long_term"][1]]
    ok = (worst["max_abs"]["max_abs"] <= TOLERANCE["max_abs"] and worst["mean_abs"]["mean_abs"] <= TOLERANCE["mean_abs"]
          and worst["min_iou"]["min_iou"] >= TOLERANCE["min_iou"] and not memory_mismatch)
    summary = {
        "frames": n, "working_size": size, "weights": described, "official_commit": checkout_commit(args.official),
        "worst": {key: {"value": r[key], "frame": r["frame"]} for key, r in worst.items()},
        "tolerance": TOLERANCE, "memory_size_mismatch_frames": memory_mismatch,
        "long_term_in_use_from": next((r["frame"] for r in rows if r["long_term"][1] > 0), None),
        "median_seconds": {"ours": float(np.median([r["seconds"][0] for r in rows[1:]] or [0])),
                           "official": float(np.median([r["seconds"][1] for r in rows[1:]] or [0]))},
        "within_tolerance": ok,
    }
    print("worst frame: " + ", ".join(f"{key} {v['value']:.4g} (t={v['frame']})" for key, v in summary["worst"].items()))
    print(f"memory sizes equal on every frame: {'yes' if not memory_mismatch else f'NO, frames {memory_mismatch}'}; "
          f"long-term memory in use from t={summary['long_term_in_use_from']}")
    print(f"median seconds per frame: ours {summary['median_seconds']['ours']:.2f}, "
          f"official {summary['median_seconds']['official']:.2f}")
    print(f"VERDICT: {'SAME as the official code' if ok else 'DIFFERENT from the official code'} within the golden "
          f"tolerance (max <= {TOLERANCE['max_abs']}, mean <= {TOLERANCE['mean_abs']}, IoU >= {TOLERANCE['min_iou']}, "
          "equal memory sizes)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"summary": summary, "frames": rows}, indent=1) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
