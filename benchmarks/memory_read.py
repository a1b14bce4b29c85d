"""Memory read and write alone, ours against the official MemoryManager, up to full memory.

    python3 benchmarks/memory_read.py --official /path/to/XMem --size 480 --objects 2

The end-to-end benchmark (long_video.py) cannot reach long-term memory's steady state at
480p on a CPU in reasonable time: long-term memory fills after about L_max / P consolidations
(~400 memory frames, ~2,000 video frames) whatever the resolution. This script skips the
network: both memory managers receive the same random keys, shrinkage, selection and values
at the feature size of a frame of the given working resolution (short side --size, 16:9),
written in the official order (one memory frame per r frames), so their tiers grow, consolidate
and forget exactly as in a video; every --read-every memory frames both read the same query,
a noisy copy of the last memory frame's key (which also feeds the usage counters), and at full memory --timed-reads reads are timed
side by side (interleaved, order alternating). It checks that both readouts agree.

Outputs: a table on stdout and, with --out PREFIX, PREFIX.csv (one row per timed read) and
PREFIX.json (summary).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def feature_grid(short_side: int, aspect: float = 16 / 9) -> tuple[int, int]:
    """Stride-16 feature size of a padded frame with this short side."""
    h, w = short_side, int(round(short_side * aspect))
    return math.ceil(h / 16), math.ceil(w / 16)


class Ours:
    name = "ours"

    def __init__(self, memory: dict, hidden_dim: int, objects: int, like) -> None:
        from xmem_demo import MemoryConfig
        from xmem_demo.memory import MemoryManager

        self.manager = MemoryManager(MemoryConfig(**memory), hidden_dim, count_long_term_usage=True)
        self.manager.add_objects(objects, like)

    def write(self, key, shrinkage, selection, value, t: int) -> None:
        self.manager.write(key, shrinkage, selection, value, t)

    def read(self, key, selection):
        return self.manager.read(key, selection)[0][0]  # K x CV x h x w

    def sizes(self) -> tuple[int, int]:
        lt = self.manager.long_term
        return self.manager.working.size, lt.size if lt is not None else 0


class Official:
    name = "official"

    def __init__(self, path: str, memory: dict, hidden_dim: int, objects: int, like) -> None:
        sys.path.insert(0, str(Path(path).resolve()))
        from inference.memory_manager import MemoryManager  # type: ignore

        config = {
            "hidden_dim": hidden_dim,
            "top_k": memory["top_k"],
            "enable_long_term": True,
            "enable_long_term_count_usage": True,
            "max_mid_term_frames": memory["max_mid_term_frames"],
            "min_mid_term_frames": memory["min_mid_term_frames"],
            "num_prototypes": memory["num_prototypes"],
            "max_long_term_elements": memory["max_long_term_elements"],
        }
        self.manager = MemoryManager(config)
        self.objects = list(range(1, objects + 1))
        self.manager.create_hidden_state(objects, like)

    def write(self, key, shrinkage, selection, value, t: int) -> None:
        self.manager.add_memory(key, shrinkage, value, self.objects, selection=selection)

    def read(self, key, selection):
        return self.manager.match_memory(key, selection)  # K x CV x h x w

    def sizes(self) -> tuple[int, int]:
        return self.manager.work_mem.size, self.manager.long_mem.size


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--official", required=True, help="path to a checkout of hkchengrex/XMem")
    p.add_argument("--size", type=int, default=480, help="working resolution, short side (default 480)")
    p.add_argument("--objects", type=int, default=2)
    p.add_argument("--memory-frames", type=int, default=420, help="memory frames written (default 420: full)")
    p.add_argument("--read-every", type=int, default=4, help="an untimed read every N memory frames (usage)")
    p.add_argument("--timed-reads", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="output prefix (PREFIX.csv, PREFIX.json)")
    args = p.parse_args(argv)

    import torch

    from xmem_demo import MemoryConfig

    torch.set_num_threads(args.threads)
    defaults = MemoryConfig()
    memory = {k: getattr(defaults, k) for k in
              ("top_k", "min_mid_term_frames", "max_mid_term_frames", "num_prototypes", "max_long_term_elements")}
    ck, cv, ch = 64, 512, 64  # the official network's C^k, C^v, C^h
    h, w = feature_grid(args.size)
    gen = torch.Generator().manual_seed(args.seed)

    def features():
        key = torch.randn(1, ck, h, w, generator=gen) * 2
        shrinkage = torch.randn(1, 1, h, w, generator=gen) ** 2 + 1  # as the network: s = x^2 + 1
        selection = torch.sigmoid(torch.randn(1, ck, h, w, generator=gen))
        value = torch.randn(1, args.objects, cv, h, w, generator=gen)
        return key, shrinkage, selection, value

    def query_like(key):
        """A query frame like the last memory frame (consecutive frames look alike), so that
        every query has close matches, as in a video (and the official top-k softmax, which
        does not subtract the maximum, stays within float32's range)."""
        return key + 0.5 * torch.randn(key.shape, generator=gen), torch.sigmoid(torch.randn(key.shape, generator=gen))

    like = torch.zeros(1, ck, h, w)
    impls = [Ours(memory, ch, args.objects, like), Official(args.official, memory, ch, args.objects, like)]
    started = time.perf_counter()
    with torch.inference_mode():
        for m in range(args.memory_frames):
            key, shrinkage, selection, value = features()
            for impl in impls:
                impl.write(key, shrinkage, selection, value, 5 * m)
            if (m + 1) % args.read_every == 0:
                qk, qe = query_like(key)
                for impl in impls:
                    impl.read(qk, qe)
            if (m + 1) % 50 == 0:
                print(f"memory frame {m + 1}/{args.memory_frames} ({time.perf_counter() - started:.0f} s): "
                      + ", ".join(f"{i.name} WM {i.sizes()[0]} LT {i.sizes()[1]}" for i in impls), flush=True)
        sizes = [impl.sizes() for impl in impls]
        same_memory = sizes[0] == sizes[1]
        if not same_memory:
            # Forgetting removes every element whose usage ties with the threshold; with random
            # features, usages that differ in the last bit (summation order) can shift the
            # threshold by a few elements. Timing is unaffected; readouts are then not compared.
            print(f"note: forgetting kept slightly different elements: ours (WM, LT) = {sizes[0]}, "
                  f"official {sizes[1]}; readouts are not compared")
        rows, max_diff = [], 0.0
        for r in range(args.timed_reads):
            qk, qe = query_like(key)
            seconds, outs = {}, {}
            for impl in (impls if r % 2 == 0 else impls[::-1]):
                t0 = time.perf_counter()
                outs[impl.name] = impl.read(qk, qe)
                seconds[impl.name] = time.perf_counter() - t0
            if same_memory:
                max_diff = max(max_diff, float((outs["ours"] - outs["official"]).abs().max()))
            rows.append({"read": r, "ours_ms": 1000 * seconds["ours"], "official_ms": 1000 * seconds["official"]})
    ours = np.median([r["ours_ms"] for r in rows])
    official = np.median([r["official_ms"] for r in rows])
    summary = {
        "command": " ".join(["python3", *sys.argv]),
        "working_resolution_short_side": args.size,
        "feature_grid": [h, w],
        "objects": args.objects,
        "memory_config": memory,
        "working_elements": sizes[0][0],
        "long_term_elements": sizes[0][1],
        "official_working_and_long_term_elements": list(sizes[1]),
        "threads": torch.get_num_threads(),
        "median_read_ms": {"ours": float(ours), "official": float(official)},
        "speedup_read": float(official / ours),
        "max_abs_readout_difference": max_diff if same_memory else None,
    }
    print(f"full memory at {args.size}p (feature grid {h}x{w}, {args.objects} objects): WM {sizes[0][0]} + LT "
          f"{sizes[0][1]} elements; median read: ours {ours:.1f} ms, official {official:.1f} ms "
          f"({official / ours:.2f}x)" + (f"; max |readout difference| {max_diff:.2e}" if same_memory else ""))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out.with_suffix(".csv"), "w") as f:
            f.write("read,ours_ms,official_ms\n")
            f.writelines(f"{r['read']},{r['ours_ms']:.2f},{r['official_ms']:.2f}\n" for r in rows)
        out.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


if __name__ == "__main__":
    main()
