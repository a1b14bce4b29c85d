"""Click-to-mask speed: the first click on a frame (image encoder + prompt decoder) and each
further click (prompt decoder only, the embedding comes from the visitor's cache), side by side
for the click models, on frames of the bundled judo clip at the size the app annotates them
(full resolution: 330 x 186 for the bundled clip; SAM 2.1 squashes every frame to 1024 x 1024
for its encoder, so the encoder's cost does not depend on the clip's size).

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python3 benchmarks/click_speed.py [--models sam2.1-tiny,sam2.1-small,grabcut]
        [--checkpoint-dir DIR] [--frames 2] [--further 8]

Speed does not depend on the values of the weights: without --checkpoint-dir (holding the
official sam2.1_hiera_*.pt), each SAM 2.1 model is a random-weight network saved in the official
format and loaded through the same code. Prints, per step, the median and min of the wall time
and of the process CPU time (with one thread, CPU time is what the step costs a core; wall time
also counts waiting for a core on a loaded machine), the step's floating-point operations, and
a reference matrix product's speed measured in the same run (how fast this machine is right now).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


class Pt:
    def __init__(self, x: float, y: float, positive: bool = True):
        self.x, self.y, self.positive = x, y, positive


# Clicks as fractions of the frame (x, y, include?): on the judo clip, the fighters, the mat, a spectator.
CLICKS = [(0.50, 0.52, True), (0.55, 0.62, True), (0.44, 0.42, False), (0.58, 0.46, True), (0.23, 0.83, False),
          (0.53, 0.73, True), (0.49, 0.31, True), (0.82, 0.21, False), (0.52, 0.58, True), (0.54, 0.54, True)]  # fmt: skip


def click(i: int, img: np.ndarray) -> Pt:
    fx, fy, positive = CLICKS[i % len(CLICKS)]
    return Pt(fx * img.shape[1], fy * img.shape[0], positive)


def matmul_gflops() -> float:
    """This machine's speed right now: a 1024^3 float32 matrix product, best of 5."""
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    best = min(_timed(lambda: a @ b)[0] for _ in range(5))
    return 2 * 1024**3 / best / 1e9


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def gflop(fn) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops() / 1e9


def frames(count: int) -> list[np.ndarray]:
    from xmem_demo.resources import EXAMPLE_CLIP
    from xmem_demo.video import open_video

    video = open_video(EXAMPLE_CLIP)
    return [video.get(i * 5) for i in range(count)]


def load(name: str, checkpoint_dir: Path | None, scratch: Path):
    from xmem_demo.clicks import GrabCutSegmenter
    from xmem_demo.clicks.sam2_model import SAM2_MODELS, save_random_checkpoint
    from xmem_demo.clicks.sam2_segmenter import Sam2Segmenter

    if name == "grabcut":
        return GrabCutSegmenter(), 0.0, "no weights"
    spec = SAM2_MODELS[name]
    path = checkpoint_dir / spec.filename if checkpoint_dir else save_random_checkpoint(spec, scratch / spec.filename)
    start = time.perf_counter()
    model = Sam2Segmenter(spec, path)
    return model, time.perf_counter() - start, "official weights" if checkpoint_dir else "random weights, official format"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="sam2.1-tiny,grabcut")
    parser.add_argument("--checkpoint-dir", type=Path)
    parser.add_argument("--frames", type=int, default=2)
    parser.add_argument("--further", type=int, default=8, help="further clicks per frame")
    args = parser.parse_args()
    from xmem_demo.clicks import ClickSession

    imgs = frames(args.frames)
    print(
        f"frames {imgs[0].shape[1]}x{imgs[0].shape[0]}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"reference matmul {matmul_gflops():.1f} GFLOP/s now"
    )
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.models.split(","):
            model, load_s, what = load(name, args.checkpoint_dir, Path(scratch))
            session = ClickSession()
            first, further = [], []  # (wall, cpu) per click
            for t, img in enumerate(imgs):
                clicks = []
                for i in range(1 + args.further):
                    clicks.append(click(i, img))
                    wall, cpu, _ = _timed(lambda: session.step(model, img, ("judo", t), t, 1, list(clicks)))
                    (first if i == 0 else further).append((wall, cpu))
            flops = ""
            if hasattr(model, "embed"):
                emb = model.embed(imgs[0])
                from xmem_demo.clicks import Prompt

                prompt = Prompt(clicks=[click(0, imgs[0]), click(1, imgs[0])])
                flops = f" | GFLOP: encoder {gflop(lambda: model.embed(imgs[0])):.1f}, decoder {gflop(lambda: model.decode(emb, prompt)):.2f}"
            enc = session.cache.computed

            def stats(rows, k, fmt):
                vals = [r[k] for r in rows]
                return f"{statistics.median(vals):{fmt}} (min {min(vals):{fmt}})"

            print(
                f"{name:13s} ({what}): load {load_s:.1f} s | first click on a frame (n={len(first)}): wall "
                f"{stats(first, 0, '.2f')} s, cpu {stats(first, 1, '.2f')} s | further click (n={len(further)}): wall "
                f"{stats(further, 0, '.3f')} s, cpu {stats(further, 1, '.3f')} s | encoder runs {enc}{flops}"
            )


if __name__ == "__main__":
    main()
