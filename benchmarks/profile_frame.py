"""Where a frame's time goes: torch.profiler over a few frames of the bundled clip.

    python3 benchmarks/profile_frame.py --size 480 --frames 10 --threads 1

Runs full XMem (golden weights: the official architecture) on the judo clip at the given
working resolution, skips the first --warmup frames, profiles the next --frames and prints
the operators by self CPU time, plus the share of convolutions.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.weights_spec import resolve_weights  # noqa: E402
from benchmarks.sources import open_source  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=480)
    p.add_argument("--frames", type=int, default=10)
    p.add_argument("--warmup", type=int, default=12)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    p.add_argument("--weights", default="golden")
    args = p.parse_args(argv)

    import torch
    from torch.profiler import ProfilerActivity, profile

    from xmem_demo import InferenceSession, MemoryConfig, load_model
    from xmem_demo.resources import EXAMPLE_CLIP, EXAMPLE_MASK

    torch.set_num_threads(args.threads)
    model = load_model(resolve_weights(args.weights)[0])
    total = args.warmup + args.frames
    session = InferenceSession(model, MemoryConfig(), num_frames=total, precision=args.precision)
    source = iter(open_source(str(EXAMPLE_CLIP), total, args.size,
                              str(EXAMPLE_MASK)))
    for _ in range(args.warmup):
        frame, mask = next(source)
        session.step(frame, mask=mask)
    seconds = []
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.frames):
            frame, mask = next(source)
            t0 = time.perf_counter()
            session.step(frame, mask=mask)
            seconds.append(time.perf_counter() - t0)
    events = prof.key_averages()
    print(events.table(sort_by="self_cpu_time_total", row_limit=15))
    total_us = sum(e.self_cpu_time_total for e in events)
    conv_us = sum(e.self_cpu_time_total for e in events if "conv" in e.key)
    print(f"{args.frames} frames at short side {args.size} ({args.precision}, {args.threads} thread(s)): "
          f"median {1000 * sorted(seconds)[len(seconds) // 2]:.0f} ms/frame; convolutions "
          f"{100 * conv_us / total_us:.0f}% of the profiled CPU time")


if __name__ == "__main__":
    main()
