"""GrabCut click-to-mask on the four true judo masks (golden data), with simulated clicks.

The click protocol is the usual interactive-segmentation one (as in the NoC metric): the first
click is a positive click at the point of the true mask farthest from its boundary; each next
click goes to the interior-most point of the larger error region (missed object: positive click,
spurious area: negative click). Prints the IoU after 1, 2, 3 and 5 clicks for each mask and the
mean over the four masks.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python3 benchmarks/grabcut_judo.py [--golden DIR] [--stateless]
    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python3 benchmarks/grabcut_judo.py --predictable [--synthetic 12]

--predictable (issue 25): how predictable the fallback is, on the judo masks and on held-out
synthetic frames (`xmem_demo.synthetic`, seeds from BENCHMARK_SEED_BASE, every target of frame 0):
- clicks: the protocol above; IoU after 1, 2, 3, 5 clicks, and the "far" share: the part of the
  result farther than FAR_FRACTION of the short side from the true object (a jump to another
  region: a hedge, the spectators' uniforms);
- box: a box around the true object (its bounding box, 5 % margin) first, then clicks;
- correction: the true mask shifted by 8 % of the short side as a tracked prior (a tracking
  error), then clicks that correct it (the first click after tracking on a frame).

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


FAR_FRACTION = 0.1  # "far": farther than this share of the short side from the true object


def far_share(pred: np.ndarray, gt: np.ndarray) -> float:
    """The share of `pred` farther than FAR_FRACTION of the short side from `gt`."""
    if not pred.any():
        return 0.0
    dist = cv2.distanceTransform((~gt).astype(np.uint8), cv2.DIST_L2, 5)
    return float((pred & (dist > FAR_FRACTION * min(gt.shape))).sum() / pred.sum())


def shifted(mask: np.ndarray, fraction: float = 0.08) -> np.ndarray:
    """The mask moved right and down by `fraction` of the short side (a tracking error)."""
    d = max(1, round(fraction * min(mask.shape)))
    out = np.zeros_like(mask)
    out[d:, d:] = mask[:-d, :-d]
    return out


def box_of(gt: np.ndarray, margin: float = 0.05):
    from xmem_demo.clicks import Box

    ys, xs = np.nonzero(gt)
    m = margin * min(gt.shape)
    h, w = gt.shape
    return Box(max(0, xs.min() - m), max(0, ys.min() - m), min(w - 1, xs.max() + m), min(h - 1, ys.max() + m))


def run_protocol(segmenter, frame: np.ndarray, gt: np.ndarray, mode: str) -> dict[int, tuple[float, float]]:
    """{prompts: (IoU, far share)} for mode clicks | box | correction (prompts: clicks, or box + clicks)."""
    from xmem_demo.clicks import ClickSession

    session = ClickSession()
    prior = shifted(gt) if mode == "correction" else None
    box = box_of(gt) if mode == "box" else None
    pred = prior if prior is not None else np.zeros_like(gt)
    clicks: list[SimClick] = []
    out = {}
    rec = session.start(0, 1, prior)
    rec.box = box
    if box is not None:
        pred = session.step(segmenter, frame, "f", 0, 1, [], prior).mask
        out[0] = (iou(pred, gt), far_share(pred, gt))
    for n in range(1, max(CLICK_COUNTS) + 1):
        clicks.append(next_click(gt, pred))
        pred = session.step(segmenter, frame, "f", 0, 1, list(clicks), prior).mask
        if n in CLICK_COUNTS:
            out[n] = (iou(pred, gt), far_share(pred, gt))
    return out


def synthetic_cases(count: int):
    """(name, frame, true mask) for every target of frame 0 of `count` held-out synthetic clips."""
    from xmem_demo.synthetic import BENCHMARK_SEED_BASE, make_clip

    for i in range(count):
        frame, labels = make_clip(BENCHMARK_SEED_BASE + i, num_frames=1).frame(0)
        for label in range(1, int(labels.max()) + 1):
            if (labels == label).sum() >= 100:
                yield f"synthetic {i}/{label}", frame, labels == label


def predictable(golden: Path, synthetic: int) -> None:
    GrabCutSegmenter = grabcut_of_this_checkout()
    segmenter = GrabCutSegmenter()
    data = np.load(golden / "golden.npz")
    judo = [(f"judo {i}", data["frames"][t], data["masks"][i] == int(data["masks"][i].max()))
            for i, t in enumerate(data["mask_frames"])]  # fmt: skip
    start = time.perf_counter()
    for set_name, cases in (("judo", judo), ("synthetic", list(synthetic_cases(synthetic)))):
        for mode in ("clicks", "box", "correction"):
            rows = [run_protocol(segmenter, frame, gt, mode) for _, frame, gt in cases]
            keys = sorted(rows[0])
            mean_iou = "  ".join(f"{k}: {np.mean([r[k][0] for r in rows]):.3f}" for k in keys)
            far = [r[k][1] for r in rows for k in keys]
            jumps = sum(f > 0.1 for f in far)
            print(
                f"{set_name:9s} {mode:10s} ({len(rows)} objects) mean IoU after {'box + ' if mode == 'box' else ''}"
                f"n clicks  {mean_iou}   far share: mean {np.mean(far):.3f}, max {np.max(far):.3f}, "
                f"results >10 % far: {jumps}/{len(far)}"
            )
    print(f"({time.perf_counter() - start:.1f} s)")


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
    parser.add_argument("--predictable", action="store_true", help="clicks, box first, correction: IoU and far share")
    parser.add_argument("--synthetic", type=int, default=12, help="held-out synthetic clips for --predictable")
    parser.add_argument("--segmenter", choices=("grabcut", "features"), default="grabcut",
                        help="features: GrabCut seeded by ImageNet feature similarity (benchmarks/feature_grabcut.py)")
    args = parser.parse_args()
    if args.predictable:
        predictable(args.golden, args.synthetic)
        return
    GrabCutSegmenter = grabcut_of_this_checkout()

    data = np.load(args.golden / "golden.npz")
    if args.segmenter == "features":
        from benchmarks.feature_grabcut import FeatureGrabCutSegmenter

        segmenter = FeatureGrabCutSegmenter()
    else:
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
