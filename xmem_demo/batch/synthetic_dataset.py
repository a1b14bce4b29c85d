"""A synthetic dataset in the DAVIS layout (xmem_demo.synthetic's clips), for tests and benchmarks.

    python -m xmem_demo.batch.synthetic_dataset ROOT --sequences 30 --frames 6 --size 64x96

writes ROOT/JPEGImages/480p/synth-000/00000.jpg ... and ROOT/Annotations/480p/synth-000/00000.png
... (every frame's ground truth, so `segment-many` scores it and `xmem-demo eval ROOT/pred
ROOT/Annotations/480p` reads it). Clips come from the held-out seeds (synthetic.BENCHMARK_SEED_BASE
and up), never seen in training. The folder name says 480p because that is where DAVIS
keeps its frames; the frames are as small as asked.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from ..synthetic import BENCHMARK_SEED_BASE, make_clip
from ..video import write_index_mask
from .datasets import DAVIS_RESOLUTION

SEED_OFFSET = 50_000  # within the held-out range, away from the seeds the notebooks and benchmarks use


def write_davis(root: str | Path, sequences: int = 30, frames: int = 6, height: int = 64, width: int = 96,
                first_seed: int = BENCHMARK_SEED_BASE + SEED_OFFSET) -> list[str]:
    """Write the dataset; returns the sequence names."""
    root = Path(root)
    names = []
    for i in range(sequences):
        name = f"synth-{i:03d}"
        clip = make_clip(first_seed + i, height=height, width=width, num_frames=frames)
        images = root / "JPEGImages" / DAVIS_RESOLUTION / name
        masks = root / "Annotations" / DAVIS_RESOLUTION / name
        images.mkdir(parents=True, exist_ok=True)
        masks.mkdir(parents=True, exist_ok=True)
        for t, (image, mask) in enumerate(clip):
            Image.fromarray(image).save(images / f"{t:05d}.jpg", quality=95)
            write_index_mask(masks / f"{t:05d}.png", mask)
        names.append(name)
    return names


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Write a synthetic dataset in the DAVIS layout")
    p.add_argument("root")
    p.add_argument("--sequences", type=int, default=30)
    p.add_argument("--frames", type=int, default=6)
    p.add_argument("--size", default="64x96", help="HEIGHTxWIDTH")
    args = p.parse_args(argv)
    height, width = (int(v) for v in args.size.lower().split("x"))
    names = write_davis(args.root, args.sequences, args.frames, height, width)
    print(f"{len(names)} sequences of {args.frames} frames ({height}x{width}) in {args.root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
