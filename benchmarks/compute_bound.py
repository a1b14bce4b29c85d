"""The machine's limit: how fast a frame could possibly be, from its arithmetic.

    python3 benchmarks/compute_bound.py --size 480 --threads 1            # 480p, golden weights
    python3 benchmarks/compute_bound.py --size 240 --threads 2 --weights mini

1. Measures this machine's own fp32 throughput on one process: a square matrix product
   (torch.mm, 2048^3) and a 3x3, 256-channel convolution at stride-8 size of a 480p frame
   (oneDNN, the faster of NCHW and NHWC): the best of a few runs, in GFLOP/s.
2. Counts the arithmetic of one frame of the reference network (the official arithmetic:
   direct convolutions, 2 FLOP per multiply-add), part by part, by running it on PyTorch's
   "meta" device (shapes only, no data) with a hook on every convolution and linear layer,
   plus the memory read (anisotropic L2 similarity over N memory elements, Eq. 3:
   2 * 2 * Q * N * C^k, and the top-k readout, 2 * Q * k * C^v per object).
3. The compute bound of a frame = convolutions with a kernel larger than 1x1 / conv rate +
   everything else (1x1 convolutions, linear layers, similarity products) / matmul rate.

A configuration's time per frame divided by this bound is "x the compute bound": 1.0 means
it runs the official arithmetic at this machine's measured convolution/matmul speed.
Below 1.0 is possible only by doing less arithmetic than the direct method (e.g. Winograd
convolutions, or computing image features once for all objects), which ours does.
`long_video.py --bound` reports this fraction for every configuration of a side-by-side run,
with the rates re-measured between frames under the same load.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


# ---- 1. the machine's throughput -------------------------------------------------------------
@dataclass
class Rates:
    matmul_gflops: float
    conv3x3_gflops: float
    conv_layout: str
    threads: int


def _best(fn, repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure_rates(repeats: int = 3, mm_size: int = 2048, conv_hw: tuple[int, int] = (60, 108)) -> Rates:
    import torch
    import torch.nn.functional as F

    a, b = torch.randn(mm_size, mm_size), torch.randn(mm_size, mm_size)
    mm = 2 * mm_size**3 / _best(lambda: torch.mm(a, b), repeats) / 1e9
    x = torch.randn(1, 256, *conv_hw)
    w = torch.randn(256, 256, 3, 3) * 0.02
    flops = 2 * conv_hw[0] * conv_hw[1] * 256 * 256 * 9
    nchw = flops / _best(lambda: F.conv2d(x, w, padding=1), repeats) / 1e9
    xl, wl = x.contiguous(memory_format=torch.channels_last), w.contiguous(memory_format=torch.channels_last)
    nhwc = flops / _best(lambda: F.conv2d(xl, wl, padding=1), repeats) / 1e9
    return Rates(mm, max(nchw, nhwc), "NHWC" if nhwc > nchw else "NCHW", torch.get_num_threads())


# ---- 2. the arithmetic of a frame --------------------------------------------------------------
@dataclass
class FrameFlops:
    """FLOPs (2 per multiply-add) of one frame, split by where they run."""

    spatial_conv: dict  # part -> FLOPs of convolutions with kernels larger than 1x1
    pointwise: dict  # part -> FLOPs of 1x1 convolutions and linear layers
    memory_read: float  # similarity + readout

    @property
    def total(self) -> float:
        return sum(self.spatial_conv.values()) + sum(self.pointwise.values()) + self.memory_read

    def bound_seconds(self, rates: Rates) -> float:
        other = sum(self.pointwise.values()) + self.memory_read
        return sum(self.spatial_conv.values()) / (rates.conv3x3_gflops * 1e9) + other / (rates.matmul_gflops * 1e9)


def memory_read_flops(query: int, elements: int, key_dim: int, value_dim: int, objects: int, top_k: int = 30) -> float:
    similarity = 2 * 2 * query * elements * key_dim  # -sum(e k^2) and 2 sum(e k q): two products
    return similarity + 2 * query * min(top_k, elements) * value_dim * objects


def count_network_flops(model_config, height: int, width: int, objects: int, memory_frame: bool) -> tuple[dict, dict]:
    """Per-part FLOPs of the reference network for one frame (meta tensors: no compute)."""
    import torch
    from torch import nn

    from xmem_demo import XMem

    with torch.device("meta"):
        net = XMem(model_config).eval()
    spatial: dict[str, float] = {}
    pointwise: dict[str, float] = {}

    def hook_for(part: str):
        def hook(module, inputs, output):
            if isinstance(module, nn.Conv2d):
                k = module.kernel_size[0] * module.kernel_size[1]
                flops = 2 * output.numel() * module.in_channels // module.groups * k
                target = spatial if k > 1 else pointwise
            else:
                flops = 2 * output.numel() * module.in_features
                target = pointwise
            target[part] = target.get(part, 0) + flops
        return hook

    for part in ("key_encoder", "key_proj", "decoder", "value_encoder"):
        for m in getattr(net, part).modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.register_forward_hook(hook_for(part))
    cfg = model_config
    ph, pw = -(-height // 16) * 16, -(-width // 16) * 16
    hw = (ph // 16, pw // 16)
    with torch.device("meta"), torch.inference_mode():
        image = torch.empty(1, 3, ph, pw)
        _, _, _, features = net.encode_key(image, need_shrinkage=memory_frame)
        readout = torch.empty(1, objects, cfg.value_dim, *hw)
        hidden = torch.empty(1, objects, cfg.hidden_dim, *hw) if cfg.hidden_dim else None
        net.segment(features, readout, hidden, update_hidden=not memory_frame)
        if memory_frame:
            net.encode_value(image, features[0], hidden, torch.empty(1, objects, ph, pw))
    return spatial, pointwise


def frame_flops(model_config, height: int, width: int, objects: int, memory_frame: bool,
                memory_elements: int, top_k: int = 30) -> FrameFlops:
    spatial, pointwise = count_network_flops(model_config, height, width, objects, memory_frame)
    q = (-(-height // 16)) * (-(-width // 16))
    read = memory_read_flops(q, memory_elements, model_config.key_dim, model_config.value_dim, objects, top_k)
    return FrameFlops(spatial, pointwise, read if memory_elements else 0.0)


def model_config_of(weights: str):
    from benchmarks.weights_spec import resolve_weights
    from xmem_demo.checkpoint import read_checkpoint, build_model

    path = resolve_weights(weights)[0]
    if path.startswith("tiny:"):
        from xmem_demo import ModelConfig

        return ModelConfig(key_dim=16, value_dim=16, hidden_dim=8, key_width=8, key_blocks=(1, 1, 1),
                           value_width=8, value_blocks=(1, 1, 1), decoder_dims=(16, 16))
    return build_model(read_checkpoint(path), path).config


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=480, help="short side; the judo clip's aspect (480 -> 480x852)")
    p.add_argument("--width", type=int, default=None, help="frame width (default: 16:9 of --size)")
    p.add_argument("--objects", type=int, default=1)
    p.add_argument("--memory-elements", type=int, default=None,
                   help="memory elements read (default: a full memory at this size: T_max frames + L_max)")
    p.add_argument("--weights", default="golden", help="golden (official architecture), mini, or a checkpoint")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", help="write the figures as JSON here")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    if args.weights == "mini":
        from xmem_demo.weights import MINI_PATH

        args.weights = str(MINI_PATH)
    cfg = model_config_of(args.weights)
    h = args.size
    w = args.width or int(round(h * 16 / 9 / 2)) * 2 - (2 if h == 480 else 0)  # 480 -> 852 (the judo clip)
    elements = args.memory_elements
    if elements is None:
        elements = 10 * (-(-h // 16)) * (-(-w // 16)) + 10000
    rates = measure_rates(args.repeats)
    ordinary = frame_flops(cfg, h, w, args.objects, False, elements)
    memory = frame_flops(cfg, h, w, args.objects, True, elements)
    mean_total = (4 * ordinary.total + memory.total) / 5  # r = 5: one memory frame in five
    mean_bound = (4 * ordinary.bound_seconds(rates) + memory.bound_seconds(rates)) / 5
    result = {
        "rates": asdict(rates),
        "frame": [h, w], "objects": args.objects, "memory_elements": elements, "model": cfg.to_dict(),
        "ordinary_frame": {**asdict(ordinary), "total": ordinary.total, "bound_s": ordinary.bound_seconds(rates)},
        "memory_frame": {**asdict(memory), "total": memory.total, "bound_s": memory.bound_seconds(rates)},
        "mean_gflop_per_frame_r5": mean_total / 1e9, "mean_bound_s_r5": mean_bound,
    }
    print(f"{rates.threads} thread(s): fp32 matmul {rates.matmul_gflops:.1f} GFLOP/s, 3x3x256 convolution "
          f"{rates.conv3x3_gflops:.1f} GFLOP/s ({rates.conv_layout})")
    for name, f in (("ordinary frame", ordinary), ("memory frame", memory)):
        parts = {k: f.spatial_conv.get(k, 0) + f.pointwise.get(k, 0) for k in set(f.spatial_conv) | set(f.pointwise)}
        detail = ", ".join(f"{k} {v / 1e9:.1f}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]))
        print(f"{name} at {h}x{w}, {args.objects} object(s), {elements} memory elements: {f.total / 1e9:.1f} GFLOP "
              f"({detail}, memory read {f.memory_read / 1e9:.1f}); bound {f.bound_seconds(rates):.2f} s")
    print(f"mean over r=5 frames: {mean_total / 1e9:.1f} GFLOP, compute bound {mean_bound:.2f} s/frame")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1, default=float))
    return result


if __name__ == "__main__":
    main()
