"""Accuracy of the optimised inference on the golden clip, in numbers.

    python3 benchmarks/golden_check.py                    # fp32 against the official outputs
    python3 benchmarks/golden_check.py --precision bf16   # + bf16 autocast vs fp32 mask agreement

fp32: worst frame of max |prob - golden|, mean |prob - golden| and per-object IoU of the
argmax masks against the official float32 outputs (tests/test_golden.py asserts
<= 0.01, <= 0.0003 and >= 0.97 on every frame), and whether the memory bookkeeping (sizes,
consolidation and forgetting frames) matches on every frame.

Reduced precision (`--precision bf16` or `fp16`): the same clip run again under autocast;
reports the mean and minimum over frames of the per-frame mean object IoU between the
reduced-precision and the fp32 masks (target: mean >= 0.98), the same numbers against the
golden masks, and the per-frame time of both runs (interleaved frame by frame).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.weights_spec import GOLDEN_WEIGHTS_XZ, resolve_weights  # noqa: E402

GOLDEN_DIR = GOLDEN_WEIGHTS_XZ.parent


def object_ious(pred: np.ndarray, ref: np.ndarray, k: int) -> list[float]:
    out = []
    for obj in range(1, k + 1):
        a, b = pred == obj, ref == obj
        out.append(float((a & b).sum() / max((a | b).sum(), 1)))
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--weights", default="golden",
                   help="'golden' (default: the golden random weights, compared with the official outputs), or "
                        "any weights name/path (e.g. 'mini'): then only the reduced-precision agreement with this "
                        "network's own fp32 masks is measured, on the golden clip's frames")
    p.add_argument("--out", help="write the report as JSON here")
    args = p.parse_args(argv)

    import torch

    from xmem_demo import InferenceSession, MemoryConfig, RecordCollector, load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    data = np.load(GOLDEN_DIR / "golden.npz")
    trace = json.loads((GOLDEN_DIR / "memory_trace.json").read_text())
    c = trace["config_passed_to_InferenceCore"]
    config = MemoryConfig(
        mem_every=c["mem_every"], deep_update_every=c["deep_update_every"], top_k=c["top_k"],
        enable_long_term=c["enable_long_term"], min_mid_term_frames=c["min_mid_term_frames"],
        max_mid_term_frames=c["max_mid_term_frames"], num_prototypes=c["num_prototypes"],
        max_long_term_elements=c["max_long_term_elements"],
    )
    golden = args.weights == "golden"
    if golden:
        weights, _ = resolve_weights("golden")
    else:
        from xmem_demo.weights import resolve

        weights = resolve(args.weights, allow_download=False).path
    model = load_model(weights)
    frames, mask_frames = data["frames"], list(data["mask_frames"])
    n = len(frames)
    precisions = ["fp32"] + ([args.precision] if args.precision != "fp32" else [])
    sessions = {pr: InferenceSession(model, config, num_frames=n, precision=pr) for pr in precisions}
    records = {pr: RecordCollector(keep_arrays=False) for pr in precisions}
    for pr in precisions:
        sessions[pr].add_hook(records[pr])
    worst = {"max_abs": 0.0, "mean_abs": 0.0, "min_iou": 1.0}
    worst_frame = {}
    agreement, agreement_golden, seconds = [], [], {pr: [] for pr in precisions}
    for t in range(n):
        mask = data["masks"][mask_frames.index(t)] if t in mask_frames else None
        preds = {}
        order = precisions if t % 2 == 0 else precisions[::-1]
        for pr in order:
            t0 = time.perf_counter()
            prob = sessions[pr].step(frames[t], mask=mask, end=t == n - 1)
            seconds[pr].append(time.perf_counter() - t0)
            preds[pr] = prob
        k = int(data["num_objects"][t])
        prob = preds["fp32"].numpy()
        if golden:
            diff = np.abs(prob - data["prob"][t, : k + 1].astype(np.float32))
            ious = object_ious(prob.argmax(0), data["pred_mask"][t], k)
            if diff.max() > worst["max_abs"]:
                worst["max_abs"], worst_frame["max_abs"] = float(diff.max()), t
            if diff.mean() > worst["mean_abs"]:
                worst["mean_abs"], worst_frame["mean_abs"] = float(diff.mean()), t
            if min(ious) < worst["min_iou"]:
                worst["min_iou"], worst_frame["min_iou"] = min(ious), t
        if args.precision != "fp32":
            low = preds[args.precision].float().numpy().argmax(0)
            if t > 0:  # frame 0 returns the given mask in every precision
                agreement.append(float(np.mean(object_ious(low, prob.argmax(0), k))))
                if golden:
                    agreement_golden.append(float(np.mean(object_ious(low, data["pred_mask"][t], k))))
    report = {"frames": n, "weights": str(args.weights)}
    if golden:
        mismatched = []
        for rec, ref in zip(records["fp32"].records, trace["frames"]):
            got = (rec.working_size, rec.working_group_sizes, rec.long_term_size, rec.long_term_group_sizes,
                   rec.consolidation is not None, rec.forgetting is not None, rec.memory_frame, rec.deep_update)
            want = (ref["work_mem_size"], ref["work_mem_group_sizes"], ref["long_mem_size"],
                    ref["long_mem_group_sizes"], ref["consolidation"], ref["forgetting"], ref["is_mem_frame"],
                    ref["is_deep_update"])
            if got != want:
                mismatched.append(rec.index)
        report.update({
            "fp32_vs_golden_worst_frame": {k: {"value": v, "frame": worst_frame.get(k)} for k, v in worst.items()},
            "tolerance": {"max_abs": 0.01, "mean_abs": 0.0003, "min_iou": 0.97},
            "fp32_within_tolerance": worst["max_abs"] <= 0.01 and worst["mean_abs"] <= 0.0003
            and worst["min_iou"] >= 0.97,
            "memory_bookkeeping_mismatched_frames": mismatched,
        })
    report["median_seconds_per_frame"] = {pr: float(np.median(s[1:])) for pr, s in seconds.items()}
    report["threads"] = torch.get_num_threads()
    if args.precision != "fp32":
        report[f"{args.precision}_vs_fp32_mask_iou"] = {
            "mean": float(np.mean(agreement)), "min": float(np.min(agreement)), "target_mean": 0.98,
        }
        if golden:
            report[f"{args.precision}_vs_golden_mask_iou"] = {
                "mean": float(np.mean(agreement_golden)), "min": float(np.min(agreement_golden)),
            }
        report["speedup_fp32_over_" + args.precision] = (
            report["median_seconds_per_frame"]["fp32"] / report["median_seconds_per_frame"][args.precision]
        )
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    return report


if __name__ == "__main__":
    main()
