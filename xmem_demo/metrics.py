"""J (region similarity), F (boundary accuracy) and J&F, as the DAVIS 2017 benchmark defines them.

Definitions follow the davis2017-evaluation toolkit: J is the IoU of an object's mask
(1 when both prediction and ground truth are empty); F is the F-measure of boundary
pixels matched within a tolerance of ceil(0.008 * image diagonal) pixels. A sequence is
scored per object, averaged over frames; semi-supervised evaluation leaves out the first
frame (it is given) and the last one (frames 1 .. T-2, as davis2017-evaluation does).
The overall score averages over all objects of all sequences, as the DAVIS benchmark does.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

BOUNDARY_TOLERANCE = 0.008  # fraction of the image diagonal (DAVIS bound_th)


def region_similarity(pred: np.ndarray, gt: np.ndarray) -> float:
    """J: intersection over union of two binary masks (both empty -> 1)."""
    pred, gt = pred.astype(bool), gt.astype(bool)
    union = np.logical_or(pred, gt).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(pred, gt).sum() / union)


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """Boundary pixels of a binary mask: where it differs from its right, lower or lower-right neighbour."""
    seg = mask.astype(bool)
    east = np.zeros_like(seg)
    south = np.zeros_like(seg)
    south_east = np.zeros_like(seg)
    east[:, :-1] = seg[:, 1:]
    south[:-1, :] = seg[1:, :]
    south_east[:-1, :-1] = seg[1:, 1:]
    b = (seg ^ east) | (seg ^ south) | (seg ^ south_east)
    b[-1, :] = seg[-1, :] ^ east[-1, :]
    b[:, -1] = seg[:, -1] ^ south[:, -1]
    b[-1, -1] = False
    return b


def _disk(radius: int) -> np.ndarray:
    """Disk structuring element: pixels with x^2 + y^2 <= r^2 (as skimage.morphology.disk)."""
    r = int(radius)
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return (xx * xx + yy * yy <= r * r).astype(np.uint8)


def boundary_f(pred: np.ndarray, gt: np.ndarray, tolerance: float = BOUNDARY_TOLERANCE) -> float:
    """F: boundary F-measure of two binary masks, boundaries matching within the DAVIS tolerance.

    tolerance < 1 is a fraction of the image diagonal (radius ceil(tolerance * diagonal));
    tolerance >= 1 is a radius in pixels. Both empty -> 1; exactly one empty -> 0.
    """
    radius = tolerance if tolerance >= 1 else int(np.ceil(tolerance * np.linalg.norm(gt.shape[:2])))
    pred_b, gt_b = boundary_map(pred), boundary_map(gt)
    n_pred, n_gt = int(pred_b.sum()), int(gt_b.sum())
    if n_pred == 0 and n_gt == 0:
        return 1.0
    if n_pred == 0 or n_gt == 0:
        return 0.0
    disk = _disk(radius)
    pred_dil = cv2.dilate(pred_b.astype(np.uint8), disk).astype(bool)
    gt_dil = cv2.dilate(gt_b.astype(np.uint8), disk).astype(bool)
    precision = (pred_b & gt_dil).sum() / n_pred
    recall = (gt_b & pred_dil).sum() / n_gt
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def jf(
    pred: np.ndarray, gt: np.ndarray, object_ids: Iterable[int] | None = None, skip_first_last: bool = True
) -> dict:
    """Score a sequence of index masks (T x H x W, or one H x W frame) against ground truth.

    Returns per-object J and F (means over frames) and their means over objects:
    {"J", "F", "J&F", "per_object": {id: {"J", "F", "J&F"}}}. Objects default to the
    labels present in the ground truth. skip_first_last=True is the DAVIS semi-supervised
    convention (frame 0 is the given annotation; frames 1 .. T-2 are scored); it applies
    only when there are more than two frames.
    """
    pred, gt = np.asarray(pred), np.asarray(gt)
    if pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} differ in shape")
    if pred.ndim == 2:
        pred, gt = pred[None], gt[None]
    if object_ids is None:
        object_ids = sorted(int(v) for v in np.unique(gt) if v)
    frames = range(1, len(gt) - 1) if skip_first_last and len(gt) > 2 else range(len(gt))
    per_object = {}
    for obj in object_ids:
        js = [region_similarity(pred[t] == obj, gt[t] == obj) for t in frames]
        fs = [boundary_f(pred[t] == obj, gt[t] == obj) for t in frames]
        j, f = float(np.mean(js)), float(np.mean(fs))
        per_object[int(obj)] = {"J": j, "F": f, "J&F": (j + f) / 2}
    if not per_object:
        return {"J": float("nan"), "F": float("nan"), "J&F": float("nan"), "per_object": {}}
    j = float(np.mean([v["J"] for v in per_object.values()]))
    f = float(np.mean([v["F"] for v in per_object.values()]))
    return {"J": j, "F": f, "J&F": (j + f) / 2, "per_object": per_object}


def segment_masks(folder: Path) -> Path:
    """The folder of mask PNGs in `folder`: itself, or masks/ when `folder` is a `segment --out`
    folder (masks/ and no PNG of its own)."""
    if (folder / "masks").is_dir() and not any(folder.glob("*.png")):
        return folder / "masks"
    return folder


def sequence_pairs(pred_dir: str | Path, gt_dir: str | Path) -> list[tuple[Path, Path]]:
    """(prediction folder, ground-truth folder) per sequence of the DAVIS layout, sorted by name:
    gt_dir/<sequence>/00000.png ... and pred_dir/<sequence>/...; if gt_dir holds PNGs directly,
    it and pred_dir are one sequence. A prediction folder may also be what `xmem-demo segment
    --out` wrote (its masks in <sequence>/masks/)."""
    from .errors import MaskError

    pred_dir, gt_dir = Path(pred_dir), Path(gt_dir)
    if not gt_dir.is_dir():
        raise MaskError(f"ground-truth folder '{gt_dir}' not found")
    if not pred_dir.is_dir():
        raise MaskError(f"prediction folder '{pred_dir}' not found")
    sequences = sorted(p for p in gt_dir.iterdir() if p.is_dir())
    pairs = [(pred_dir / s.name, s) for s in sequences] if sequences else [(pred_dir, gt_dir)]
    return [(segment_masks(pred_seq), gt_seq) for pred_seq, gt_seq in pairs]


def evaluate_sequence(pred_seq: str | Path, gt_seq: str | Path, skip_first_last: bool = True) -> dict:
    """jf(...) of one sequence: every ground-truth PNG against the prediction of the same name."""
    from .errors import MaskError
    from .video import read_index_mask

    pred_seq, gt_seq = Path(pred_seq), Path(gt_seq)
    gt_files = sorted(gt_seq.glob("*.png"))
    if not gt_files:
        raise MaskError(f"no ground-truth PNGs in '{gt_seq}'")
    missing = [f.name for f in gt_files if not (pred_seq / f.name).exists()]
    if missing:
        raise MaskError(f"'{pred_seq}' lacks predictions for {len(missing)} frames, first {missing[:3]}")
    gt_masks = [read_index_mask(f) for f in gt_files]
    odd = [f.name for f, m in zip(gt_files, gt_masks) if m.shape != gt_masks[0].shape]
    if odd:
        other = next(m for m in gt_masks if m.shape != gt_masks[0].shape)
        raise MaskError(
            f"ground truth in '{gt_seq}' mixes frame sizes: '{gt_files[0].name}' is "
            f"{gt_masks[0].shape[0]}x{gt_masks[0].shape[1]} but {len(odd)} files differ, first '{odd[0]}' "
            f"({other.shape[0]}x{other.shape[1]}, height x width); one sequence has one frame size"
        )
    gt = np.stack(gt_masks)
    if not gt.any():
        raise MaskError(
            f"ground truth in '{gt_seq}' has no object (every pixel of its {len(gt_files)} masks is 0): "
            "there is nothing to score; check the folder (DAVIS layout: <sequence>/00000.png with labels 1, 2, ...)"
        )
    preds = []
    for f in gt_files:
        mask = read_index_mask(pred_seq / f.name)
        if mask.shape != gt.shape[1:]:
            raise MaskError(
                f"'{pred_seq / f.name}' is {mask.shape[0]}x{mask.shape[1]} but the ground truth is "
                f"{gt.shape[1]}x{gt.shape[2]} (height x width)"
            )
        preds.append(mask)
    result = jf(np.stack(preds), gt, skip_first_last=skip_first_last)
    result["frames"] = len(gt_files)
    return result


def _evaluate_pair(pair: tuple[Path, Path, bool]) -> dict:
    return evaluate_sequence(*pair)


def evaluate_folders(
    pred_dir: str | Path, gt_dir: str | Path, skip_first_last: bool = True, workers: int = 1
) -> dict[str, dict]:
    """Score predictions against ground truth in the DAVIS layout; {sequence: evaluate_sequence(...)}.

    workers > 1 scores that many sequences at once in worker processes (each sequence is
    scored whole by one process, so the numbers are those of workers=1, in the same order).
    """
    pairs = sequence_pairs(pred_dir, gt_dir)
    jobs = [(pred, gt, skip_first_last) for pred, gt in pairs]
    workers = max(1, min(int(workers), len(jobs)))
    if workers == 1:
        scores = [_evaluate_pair(job) for job in jobs]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn: a forked child would inherit the parent's torch/OpenMP state (not fork-safe).
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            scores = list(pool.map(_evaluate_pair, jobs))
    return {gt.name: score for (_, gt), score in zip(pairs, scores)}


def overall(results: dict[str, dict]) -> dict[str, float]:
    """J, F and J&F averaged over every object of every sequence (the DAVIS benchmark's global score)."""
    objects = [v for r in results.values() for v in r["per_object"].values()]
    if not objects:
        return {"J": float("nan"), "F": float("nan"), "J&F": float("nan")}
    j = float(np.mean([v["J"] for v in objects]))
    f = float(np.mean([v["F"] for v in objects]))
    return {"J": j, "F": f, "J&F": (j + f) / 2}


def format_table(results: dict[str, dict]) -> str:
    """A plain-text table: one row per object, a mean row per sequence, and the overall score."""
    lines = [f"{'sequence':<24} {'object':>6} {'J':>7} {'F':>7} {'J&F':>7}", "-" * 55]
    for seq, r in results.items():
        for obj, v in r["per_object"].items():
            lines.append(f"{seq:<24} {obj:>6} {v['J']:7.3f} {v['F']:7.3f} {v['J&F']:7.3f}")
        lines.append(f"{seq:<24} {'mean':>6} {r['J']:7.3f} {r['F']:7.3f} {r['J&F']:7.3f}")
    if len(results) > 1:
        total = overall(results)
        label = "all (mean over objects)"
        lines += ["-" * 55, f"{label:<24} {'':>6} {total['J']:7.3f} {total['F']:7.3f} {total['J&F']:7.3f}"]
    return "\n".join(lines)


def write_csv(results: dict[str, dict], folder: str | Path) -> list[Path]:
    """per-sequence.csv (J, F, J&F per sequence, then the global score as sequence 'all') and
    per-object.csv (one row per object of each sequence), as the DAVIS toolkit reports them."""
    import csv
    import io

    from .outdir import write_atomic

    def table(header: list[str], rows: list[list]) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return out.getvalue()

    def r(value: float) -> str:
        return f"{value:.6f}"

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    per_seq = [[seq, len(v["per_object"]), v.get("frames", ""), r(v["J"]), r(v["F"]), r(v["J&F"])]
               for seq, v in results.items()]
    total = overall(results)
    per_seq.append(["all", sum(len(v["per_object"]) for v in results.values()), "", r(total["J"]), r(total["F"]),
                    r(total["J&F"])])
    per_obj = [[seq, obj, r(s["J"]), r(s["F"]), r(s["J&F"])] for seq, v in results.items() for obj, s in v["per_object"].items()]
    written = []
    for name, text in (
        ("per-sequence.csv", table(["sequence", "objects", "frames", "J", "F", "J&F"], per_seq)),
        ("per-object.csv", table(["sequence", "object", "J", "F", "J&F"], per_obj)),
    ):
        written.append(write_atomic(folder / name, lambda tmp, text=text: tmp.write_text(text)))
    return written
