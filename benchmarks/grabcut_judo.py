"""GrabCut click-to-mask on the four true judo masks (golden data), with simulated clicks.

The click protocol is the usual interactive-segmentation one (as in the NoC metric): the first
click is a positive click at the point of the true mask farthest from its boundary; each next
click goes to the interior-most point of the larger error region (missed object: positive click,
spurious area: negative click). Prints the IoU after 1, 2, 3 and 5 clicks for each mask and the
mean over the four masks.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python3 benchmarks/grabcut_judo.py [--golden DIR] [--stateless]

Default: clicks go through `xmem_demo.clicks.ClickSession`, as in the app (each click refines the
previous mask). --stateless: GrabCut re-run from all clicks each time (what the app did before
issue 10; the only mode that code has, so run this mode on the old code to compare).

Frames and masks: `golden.npz` of ../shared/golden/xmem-judo (329 x 185 frames; see its README).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

DEFAULT_GOLDEN = Path(__file__).resolve().parents[1] / ".." / "shared" / "golden" / "xmem-judo"
CLICK_COUNTS = (1, 2, 3, 5)


@dataclass
class SimClick:
    x: int
    y: int
    positive: bool


def interior_point(region: np.ndarray) -> tuple[int, int, float]:
    """(x, y, depth): the point of `region` farthest from its boundary (padded: the frame edge counts)."""
    padded = np.pad(region.astype(np.uint8), 1)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return int(x), int(y), float(dist[y, x])


def next_click(gt: np.ndarray, pred: np.ndarray) -> SimClick:
    fx, fy, fd = interior_point(gt & ~pred)
    px, py, pd = interior_point(pred & ~gt)
    return SimClick(fx, fy, True) if fd >= pd else SimClick(px, py, False)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def evaluate(segmenter, frame: np.ndarray, gt: np.ndarray, stateless: bool) -> dict[int, float]:
    clicks: list[SimClick] = []
    pred = np.zeros_like(gt)
    out = {}
    session = None
    if not stateless:
        from xmem_demo.clicks import ClickSession

        session = ClickSession()
    for n in range(1, max(CLICK_COUNTS) + 1):
        clicks.append(next_click(gt, pred))
        if session is None:
            pred = segmenter.segment(frame, clicks)
        else:
            pred = session.step(segmenter, frame, "judo", 0, 1, list(clicks)).mask
        if n in CLICK_COUNTS:
            out[n] = iou(pred, gt)
    return out


def grabcut_of_this_checkout():
    """GrabCutSegmenter from the xmem_demo being run: the library's `xmem_demo.clicks`, or, on a
    checkout from before issue 10 (the --stateless "before" run in docs/click_models.md), the
    app's `xmem_demo.app.clicks`. Chosen by the package's folder, not by trying the import: with
    an editable install of a newer checkout, `import xmem_demo.clicks` on an old checkout finds
    the newer one's package and would measure the wrong code."""
    import xmem_demo

    if (Path(xmem_demo.__file__).parent / "clicks").is_dir():
        from xmem_demo.clicks import GrabCutSegmenter
    else:
        from xmem_demo.app.clicks import GrabCutSegmenter
    return GrabCutSegmenter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--golden", type=Path, default=DEFAULT_GOLDEN)
    parser.add_argument("--stateless", action="store_true", help="re-run from all clicks (the pre-issue-10 app)")
    args = parser.parse_args()
    GrabCutSegmenter = grabcut_of_this_checkout()

    data = np.load(args.golden / "golden.npz")
    segmenter = GrabCutSegmenter()
    print(f"mode: {'stateless (re-run from all clicks)' if args.stateless else 'ClickSession, as in the app'}")
    rows = []
    start = time.perf_counter()
    for i, t in enumerate(data["mask_frames"]):
        labels = data["masks"][i]
        label = int(labels.max())
        scores = evaluate(segmenter, data["frames"][t], labels == label, args.stateless)
        rows.append(scores)
        cells = "  ".join(f"{n} click{'s' if n > 1 else ''}: {scores[n]:.3f}" for n in CLICK_COUNTS)
        print(f"mask {i} (t={t}, label {label}, {int((labels == label).sum())} px): {cells}")
    mean = {n: float(np.mean([r[n] for r in rows])) for n in CLICK_COUNTS}
    print("mean IoU: " + "  ".join(f"{n}: {mean[n]:.3f}" for n in CLICK_COUNTS))
    print(f"({time.perf_counter() - start:.1f} s for {len(rows)} masks x {max(CLICK_COUNTS)} clicks)")


if __name__ == "__main__":
    main()
