"""Click-to-mask speed: the first click on a frame (image encoder + prompt decoder) and each
further click (prompt decoder only, the embedding comes from the visitor's cache), side by side
for the click models, on frames of the bundled judo clip at the size the app annotates them
(full resolution, 854 x 480; SAM 2.1 squashes every frame to 1024 x 1024 for its encoder).

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python3 benchmarks/click_speed.py [--models sam2.1-tiny,sam2.1-small,grabcut]
        [--checkpoint-dir DIR] [--frames 2] [--further 8]

Speed does not depend on the values of the weights: without --checkpoint-dir (holding the
official sam2.1_hiera_*.pt), each SAM 2.1 model is a random-weight network saved in the official
format and loaded through the same code. Prints median / min per step and the model load time.
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


# Clicks on the judo clip's frame 0 (854 x 480): the two fighters, a spectator, the mat.
CLICKS = [Pt(430, 250), Pt(470, 300), Pt(380, 200, False), Pt(500, 220), Pt(200, 400, False), Pt(450, 350),
          Pt(420, 150), Pt(700, 100, False), Pt(440, 280), Pt(460, 260)]  # fmt: skip


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
    print(f"frames {imgs[0].shape[1]}x{imgs[0].shape[0]}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.models.split(","):
            model, load_s, what = load(name, args.checkpoint_dir, Path(scratch))
            session = ClickSession()
            first, further = [], []
            for t, img in enumerate(imgs):
                clicks = []
                for i in range(1 + args.further):
                    clicks.append(CLICKS[i % len(CLICKS)])
                    start = time.perf_counter()
                    session.step(model, img, ("judo", t), t, 1, list(clicks))
                    (first if i == 0 else further).append(time.perf_counter() - start)
            enc = getattr(session.cache, "computed", 0)
            print(
                f"{name:13s} ({what}): load {load_s:.1f} s | first click on a frame: median {statistics.median(first):.2f} s "
                f"(min {min(first):.2f}, n={len(first)}) | further click: median {statistics.median(further):.3f} s "
                f"(min {min(further):.3f}, max {max(further):.3f}, n={len(further)}) | encoder runs {enc}"
            )


if __name__ == "__main__":
    main()
