"""Our J&F (xmem_demo.metrics, the DAVIS 2017 definitions) against `vos-benchmark` (by XMem's
author, hkchengrex), sequence by sequence and object by object, on the same folders.

    python3 benchmarks/vos_benchmark_compare.py PRED GT [--out results.json]

Needs the `vos-benchmark` package importable (pip install vos-benchmark; it depends on
scikit-image and opencv-python). Not a unit test: CI does not install it (its opencv-python
would sit beside this project's opencv-python-headless, both owning `cv2`).

Where the two differ by definition (reported, not hidden): vos-benchmark adds an object to
a sequence's per-frame lists only from the first scored frame on which it is seen, in the
ground truth or in the prediction; davis2017-evaluation, and xmem_demo.metrics, score every
ground-truth object on every scored frame (an object absent from both counts as J = F = 1
there). So objects visible on the first scored frame must agree to rounding; the others are
reported apart.

Measured (benchmarks/results/vos_benchmark_compare.json): the 16-sequence synthetic set of
benchmarks/segment_many_workers.py (30 frames, 120x160) segmented by the mini model: 31
objects, all visible on the first scored frame, largest difference of J or F 1.1e-16, global
J&F 0.461962 in both.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from xmem_demo.metrics import evaluate_folders  # noqa: E402
from xmem_demo.video import read_index_mask  # noqa: E402


def seen_on_first_scored_frame(gt_seq: Path, pred_seq: Path) -> set[int]:
    frames = sorted(gt_seq.glob("*.png"))[1:-1]
    if not frames:
        return set()
    first = frames[0]
    labels = set(np.unique(read_index_mask(first)).tolist()) | set(np.unique(read_index_mask(pred_seq / first.name)).tolist())
    return labels - {0}


def main(argv: list[str] | None = None) -> int:
    from vos_benchmark.benchmark import VideoEvaluator

    p = argparse.ArgumentParser(description="xmem_demo.metrics against vos-benchmark")
    p.add_argument("pred")
    p.add_argument("gt")
    p.add_argument("--out")
    args = p.parse_args(argv)
    pred, gt = Path(args.pred), Path(args.gt)
    ours = evaluate_folders(pred, gt)
    evaluate = VideoEvaluator(str(gt), str(pred), skip_first_and_last=True)
    rows, same_def, other_def = [], [], []
    for name, score in ours.items():
        _, iou, boundary = evaluate(name)
        visible = seen_on_first_scored_frame(gt / name, pred / name)
        for obj, v in score["per_object"].items():
            dj, df = abs(v["J"] - iou[obj] / 100), abs(v["F"] - boundary[obj] / 100)
            row = {"sequence": name, "object": obj, "J": v["J"], "F": v["F"], "vos_J": iou[obj] / 100,
                   "vos_F": boundary[obj] / 100, "visible_on_first_scored_frame": obj in visible}
            rows.append(row)
            (same_def if obj in visible else other_def).append(max(dj, df))
    ours_global = float(np.mean([(r["J"] + r["F"]) / 2 for r in rows]))
    vos_global = float(np.mean([(r["vos_J"] + r["vos_F"]) / 2 for r in rows]))
    result = {
        "objects": len(rows),
        "objects_visible_on_first_scored_frame": len(same_def),
        "max_abs_difference_there": max(same_def, default=0.0),
        "objects_not_visible_there": len(other_def),
        "max_abs_difference_there_otherwise": max(other_def, default=0.0),
        "global_JF_ours": ours_global,
        "global_JF_vos_benchmark": vos_global,
        "rows": rows,
    }
    print(f"{len(rows)} objects in {len(ours)} sequences. Visible on the first scored frame: {len(same_def)}, "
          f"largest |difference| of J or F {result['max_abs_difference_there']:.2e}. Not visible there: "
          f"{len(other_def)}, largest difference {result['max_abs_difference_there_otherwise']:.4f} (definitions differ). "
          f"Global J&F: ours {ours_global:.6f}, vos-benchmark {vos_global:.6f}")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
