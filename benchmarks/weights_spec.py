"""Which weights a benchmark runs: `--weights` text -> a checkpoint file and a description.

Shared by the benchmarks (long_video, compute_bound, golden_check, profile_frame); it imports
nothing from them, so they can all import it without a cycle.
"""

from __future__ import annotations

import lzma
import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOLDEN_WEIGHTS_XZ = REPO.parent / "shared" / "golden" / "xmem-judo" / "weights.pth.xz"


def resolve_weights(spec: str) -> tuple[str, str]:
    """Returns (path or tiny:SEED, description). 'golden' decompresses the golden weights to /tmp."""
    if spec.startswith("tiny:"):
        return spec, "random tiny network (smoke tests only; ours only)"
    if spec == "golden":
        out = Path(os.environ.get("TMPDIR", "/tmp")) / "xmem-golden-weights.pth"
        if not out.exists():
            if not GOLDEN_WEIGHTS_XZ.exists():
                raise SystemExit(f"golden weights not found at {GOLDEN_WEIGHTS_XZ}; pass --weights PATH")
            part = out.with_suffix(".part")
            with lzma.open(GOLDEN_WEIGHTS_XZ) as src, open(part, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 22)
            part.rename(out)
        return str(out), (
            "golden weights (../shared/golden/xmem-judo/weights.pth.xz): the full-size official architecture "
            "(ResNet-50/18 encoders, C^k=64, C^v=512, C^h=64) with random, fixed values; speed and memory "
            "depend on the architecture, not on trained values"
        )
    if not Path(spec).exists():
        raise SystemExit(f"weights file not found: {spec}")
    if spec.endswith(".xz"):  # e.g. a carried copy of the golden weights.pth.xz (benchmarks/gpu_check.sh)
        out = Path(os.environ.get("TMPDIR", "/tmp")) / Path(spec).stem
        if not out.exists():
            with lzma.open(spec) as src, open(out.with_suffix(".part"), "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 22)
            out.with_suffix(".part").rename(out)
        return str(out), f"checkpoint {spec} (decompressed)"
    return spec, f"checkpoint {spec}"
