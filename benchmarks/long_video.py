"""Long-video benchmark: per-frame time and memory over up to 10,000+ frames.

    python3 benchmarks/long_video.py --frames 10000 --size 128 \
        --configs full,no-lt,official --official /path/to/XMem --out benchmarks/results/long_10k

Configurations (comma-separated, any subset):
  full       xmem-demo with the given memory settings (default: MemoryConfig(), the official
             eval.py defaults r=5, T_min=5, T_max=10, P=128, L_max=10000, top_k=30)
  full-bf16  the same with bf16 autocast (opt-in reduced precision)
  no-lt      long-term memory disabled: working memory grows every memory frame (the
             STM-style baseline); stopped at --no-lt-max-elements / --no-lt-max-rss-mb
  official   the official XMem InferenceCore from a local checkout (--official PATH), same
             frames, same memory settings, same weights, fp32

Every configuration runs in its own process (its RSS is its own) and all of them get each
frame in turn, one at a time (lock-step), so they are timed side by side under the same
background load; the order rotates every frame. Frames are streamed from the source, never
held all at once.

Outputs (with --out PREFIX): PREFIX.frames.csv (one row per frame and configuration),
PREFIX.csv (per-window summary), PREFIX.json (summary, ratios, run info), PREFIX.png (plot).
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.sources import open_source  # noqa: E402
from benchmarks.weights_spec import resolve_weights  # noqa: E402
from benchmarks.workers import WorkerSpec, worker_main  # noqa: E402
from xmem_demo.resources import EXAMPLE_CLIP, EXAMPLE_MASK  # noqa: E402

FRAME_FIELDS = ["frame", "config", "seconds", "cpu_seconds", "rss_mb", "peak_rss_mb", "gpu_mb", "gpu_peak_mb",
                "working_elements", "long_term_elements", "tier_mb", "nonfinite", "iou_vs_official",
                "matmul_gflops", "conv_gflops", "bound_seconds"]


def parse_memory(text: str | None) -> dict:
    """'num_prototypes=16,max_long_term_elements=200' -> dict of MemoryConfig overrides."""
    out: dict = {}
    if not text:
        return out
    for item in text.split(","):
        key, value = item.split("=")
        value = value.strip()
        out[key.strip()] = value.lower() == "true" if value.lower() in ("true", "false") else int(value)
    return out


def make_specs(args, weights: str) -> list[WorkerSpec]:
    memory = parse_memory(args.memory)
    specs = []
    if args.bound:
        specs.append(WorkerSpec("bound", "bound", weights=weights, memory={}, num_frames=args.frames,
                                threads=args.threads, device="cpu"))
    for name in args.configs.split(","):
        name = name.strip()
        common = dict(weights=weights, num_frames=args.frames, threads=args.threads, device=args.device)
        if name == "full":
            specs.append(WorkerSpec(name, "ours", memory=dict(memory), **common))
        elif name == "full-bf16":
            specs.append(WorkerSpec(name, "ours", memory=dict(memory), precision="bf16", **common))
        elif name == "no-lt":
            specs.append(WorkerSpec(name, "ours", memory=dict(memory, enable_long_term=False),
                                    max_working_elements=args.no_lt_max_elements, max_rss_mb=args.no_lt_max_rss_mb,
                                    **common))
        elif name == "official":
            if not args.official:
                raise SystemExit("the official configuration needs --official PATH (a checkout of hkchengrex/XMem)")
            if weights.startswith("tiny:"):
                raise SystemExit("the official configuration needs a real checkpoint (e.g. --weights golden)")
            specs.append(WorkerSpec(name, "official", memory=dict(memory), official_path=args.official, **common))
        else:
            raise SystemExit(f"unknown configuration '{name}' (full, full-bf16, no-lt, official)")
    return specs


# ---- the lock-step run -----------------------------------------------------------------------
class Worker:
    def __init__(self, spec: WorkerSpec, ctx) -> None:
        self.spec = spec
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=worker_main, args=(spec, child), name=f"bench-{spec.name}", daemon=True)
        self.proc.start()
        child.close()
        self.info: dict = {}
        self.stopped: str | None = None

    def wait_ready(self) -> None:
        kind, payload = self.conn.recv()
        if kind != "ready":
            raise RuntimeError(f"configuration {self.spec.name} failed to start:\n{payload}")
        self.info = payload

    def close(self) -> None:
        try:
            self.conn.send(("close",))
            self.conn.recv()
        except (OSError, EOFError):
            pass
        self.proc.join(timeout=30)


def mean_iou(a: np.ndarray, b: np.ndarray) -> float:
    labels = [v for v in np.union1d(np.unique(a), np.unique(b)) if v != 0]
    ious = []
    for v in labels:
        x, y = a == v, b == v
        union = np.logical_or(x, y).sum()
        if union:
            ious.append(np.logical_and(x, y).sum() / union)
    return float(np.mean(ious)) if ious else 1.0


def run(args) -> dict:
    weights, weights_note = resolve_weights(args.weights)
    source = open_source(args.source, args.frames, args.size, args.mask, args.objects)
    specs = make_specs(args, weights)
    ctx = mp.get_context("spawn")
    workers = [Worker(s, ctx) for s in specs]
    for w in workers:  # start them all, then wait (model loading overlaps)
        w.wait_ready()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    frames_csv = Path(args.frames_csv) if args.frames_csv else out.with_suffix(".frames.csv")
    frames_csv.parent.mkdir(parents=True, exist_ok=True)
    series: dict[str, dict[str, list]] = {w.spec.name: {k: [] for k in FRAME_FIELDS} for w in workers}
    started = time.time()
    stop_reasons: dict[str, str] = {}
    bound_model = _bound_model(weights) if args.bound else None
    with open(frames_csv, "w", newline="") as fcsv:
        writer = csv.DictWriter(fcsv, fieldnames=FRAME_FIELDS)
        writer.writeheader()
        for t, (frame, mask) in enumerate(source):
            end = t == args.frames - 1
            active = [w for w in workers if w.stopped is None]
            if not active:
                break
            shift = t % len(active)
            masks: dict[str, np.ndarray] = {}
            rows: dict[str, dict] = {}
            for w in active[shift:] + active[:shift]:
                w.conn.send(("step", t, frame, mask, end))
                reply = w.conn.recv()
                if reply[0] == "error":
                    w.stopped = stop_reasons[w.spec.name] = f"error at frame {t}: {reply[1].strip().splitlines()[-1]}"
                    print(f"[{w.spec.name}] stopped by an error at frame {t}:\n{reply[1]}", file=sys.stderr)
                    continue
                _, row, index_mask, stop = reply
                rows[w.spec.name] = row
                if index_mask is not None:
                    masks[w.spec.name] = index_mask
                if stop:
                    w.stopped = stop_reasons[w.spec.name] = f"{stop} at frame {t}"
            if "bound" in rows and bound_model is not None:
                for name, row in rows.items():
                    if name != "bound":
                        row["bound_seconds"] = frame_bound(bound_model, source.info, t, end, row, rows["bound"], args)
            for name, row in rows.items():
                if name not in ("official", "bound") and "official" in masks:
                    row["iou_vs_official"] = mean_iou(masks[name], masks["official"])
                row = {"frame": t, "config": name, **row}
                writer.writerow({k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()})
                for k in FRAME_FIELDS:
                    series[name][k].append(row.get(k, np.nan))
            if args.log_every and (t + 1) % args.log_every == 0:
                parts = []
                for name, s in series.items():
                    if s["frame"] and s["frame"][-1] == t:
                        recent = np.median(s["seconds"][-args.log_every:]) * 1000
                        parts.append(f"{name}: {recent:.0f} ms, peak {s['peak_rss_mb'][-1]:.0f} MiB, "
                                     f"WM {s['working_elements'][-1]} LT {s['long_term_elements'][-1]}")
                print(f"frame {t + 1}/{args.frames} ({time.time() - started:.0f} s) | " + " | ".join(parts), flush=True)
                fcsv.flush()
    for w in workers:
        w.close()
    elapsed = time.time() - started
    info = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "source": asdict(source.info),
        "weights": weights_note,
        "memory_config_overrides": parse_memory(args.memory),
        "frames_requested": args.frames,
        "working_size": [source.info.height, source.info.width],
        "wall_seconds": elapsed,
        "machine": machine_info(),
        "workers": {w.spec.name: w.info for w in workers},
        "stopped": stop_reasons,
        "frames_csv": str(frames_csv),
    }
    summary = summarise(series, args, info)
    write_outputs(series, summary, out, args)
    return summary


# ---- the compute bound of each frame (benchmarks/compute_bound.py) ---------------------------
def _bound_model(weights: str):
    from benchmarks.compute_bound import model_config_of

    return {"config": model_config_of(weights), "cache": {}}


def frame_bound(bound_model: dict, info, t: int, end: bool, row: dict, rates_row: dict, args) -> float:
    """Seconds this frame would take at the rates measured next to it, for the reference
    arithmetic of its kind (memory frame or not) and its memory size."""
    from benchmarks.compute_bound import Rates, frame_flops, memory_read_flops

    mem_every = parse_memory(args.memory).get("mem_every", 5)
    memory_frame = t % mem_every == 0 and not end
    objects = max(1, info.num_objects)
    key = (memory_frame, objects)
    cache = bound_model["cache"]
    cfg = bound_model["config"]
    if key not in cache:
        cache[key] = frame_flops(cfg, info.height, info.width, objects, memory_frame, 0)
    flops = cache[key]
    elements = int(row.get("working_elements", 0)) + int(row.get("long_term_elements", 0))
    if t == 0:
        elements = 0  # the first frame is given, nothing is read
    q = (-(-info.height // 16)) * (-(-info.width // 16))
    read = memory_read_flops(q, elements, cfg.key_dim, cfg.value_dim, objects) if elements else 0.0
    rates = Rates(rates_row["matmul_gflops"], rates_row["conv_gflops"], "", 0)
    return flops.bound_seconds(rates) + read / (rates.matmul_gflops * 1e9)


# ---- summary ---------------------------------------------------------------------------------
def machine_info() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in lscpu.splitlines():
            if line.startswith(("Model name", "CPU(s):")):
                k, v = line.split(":", 1)
                info[k.strip()] = v.strip()
        flags = next((ln for ln in lscpu.splitlines() if ln.startswith("Flags")), "")
        info["bf16_hw"] = [f for f in ("avx512_bf16", "amx_bf16", "amx_tile") if f in flags.split()]
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info


def _at(s: dict, key: str, frame: int) -> float:
    """Value of `key` at `frame` (or the last frame run before it)."""
    frames = s["frame"]
    if not frames:
        return float("nan")
    i = int(np.searchsorted(frames, frame, side="right")) - 1
    return float(s[key][max(i, 0)])


def summarise(series: dict, args, info: dict) -> dict:
    ref = min(args.ref_frame, args.frames - 1)
    configs = {}
    for name, s in series.items():
        n = len(s["frame"])
        if not n:
            configs[name] = {"frames_run": 0}
            continue
        sec = np.asarray(s["seconds"], float)
        warm = sec[min(args.warmup, n - 1):]
        lt = np.asarray(s["long_term_elements"])
        full_at = int(np.argmax(lt >= lt.max())) if lt.max() > 0 else None
        c = {
            "frames_run": n,
            "total_seconds": float(sec.sum()),
            "median_ms": float(np.median(warm) * 1000),
            "mean_ms": float(np.mean(warm) * 1000),
            "median_ms_last_1000": float(np.median(sec[-1000:]) * 1000),
            "peak_rss_mb_at_ref": _at(s, "peak_rss_mb", ref),
            "peak_rss_mb_final": float(s["peak_rss_mb"][-1]),
            "rss_mb_final": float(s["rss_mb"][-1]),
            "working_elements_final": int(s["working_elements"][-1]),
            "long_term_elements_final": int(s["long_term_elements"][-1]),
            "long_term_elements_max": int(lt.max()),
            "first_frame_at_long_term_max": full_at,
            "tier_mb_at_ref": _at(s, "tier_mb", ref),
            "tier_mb_final": float(s["tier_mb"][-1]),
            "frames_with_nonfinite_output": int(np.sum(s["nonfinite"])),
        }
        c["peak_rss_growth_after_ref_pct"] = 100 * (c["peak_rss_mb_final"] / c["peak_rss_mb_at_ref"] - 1)
        if not np.isnan(s["gpu_peak_mb"][-1]):
            c["gpu_peak_mb_at_ref"] = _at(s, "gpu_peak_mb", ref)
            c["gpu_peak_mb_final"] = float(s["gpu_peak_mb"][-1])
        bound = np.asarray(s["bound_seconds"], float)
        if np.isfinite(bound).any() and name != "bound":
            sel = np.arange(n) >= min(args.warmup, n - 1)
            sel &= np.isfinite(bound)
            c["x_compute_bound_total"] = float(sec[sel].sum() / bound[sel].sum())
            c["x_compute_bound_median"] = float(np.median(sec[sel] / bound[sel]))
            c["bound_ms_median"] = float(np.median(bound[sel]) * 1000)
            frames = np.asarray(s["frame"])
            c["x_compute_bound_per_window"] = {
                f"{lo}-{lo + args.window - 1}": float(sec[sel & (frames >= lo) & (frames < lo + args.window)].sum()
                                                      / bound[sel & (frames >= lo) & (frames < lo + args.window)].sum())
                for lo in range(0, int(frames.max()) + 1, args.window)
                if (sel & (frames >= lo) & (frames < lo + args.window)).any()
            }
        if name == "bound":
            c["matmul_gflops_median"] = float(np.nanmedian(np.asarray(s["matmul_gflops"], float)))
            c["conv_gflops_median"] = float(np.nanmedian(np.asarray(s["conv_gflops"], float)))
        iou = np.asarray(s["iou_vs_official"], float)
        if np.isfinite(iou).any():
            c["mean_iou_vs_official"] = float(np.nanmean(iou))
            c["min_iou_vs_official"] = float(np.nanmin(iou))
        configs[name] = c
    ratios = {}
    if "official" in series:
        off = series["official"]
        for name, s in series.items():
            if name in ("official", "bound") or not s["frame"]:
                continue
            common = sorted(set(s["frame"]) & set(off["frame"]))
            common = [f for f in common if f >= args.warmup]
            if not common:
                continue
            mine = dict(zip(s["frame"], s["seconds"]))
            theirs = dict(zip(off["frame"], off["seconds"]))
            mine_cpu = dict(zip(s["frame"], s["cpu_seconds"]))
            theirs_cpu = dict(zip(off["frame"], off["cpu_seconds"]))
            a = np.array([mine[f] for f in common])
            b = np.array([theirs[f] for f in common])
            ac = np.array([mine_cpu[f] for f in common])
            bc = np.array([theirs_cpu[f] for f in common])
            per_frame = b / a
            windows = {}
            for lo in range(0, max(common) + 1, args.window):
                sel = [(lo <= f < lo + args.window) for f in common]
                if any(sel):
                    idx = np.nonzero(sel)[0]
                    windows[f"{lo}-{lo + args.window - 1}"] = float(b[idx].sum() / a[idx].sum())
            ratios[f"official/{name}"] = {
                "frames_compared": len(common),
                "speedup_total_time": float(b.sum() / a.sum()),
                "speedup_median_per_frame_ratio": float(np.median(per_frame)),
                "speedup_ratio_of_medians": float(np.median(b) / np.median(a)),
                "speedup_total_cpu_time": float(bc.sum() / ac.sum()),
                "speedup_total_time_per_window": windows,
                "peak_rss_ratio_final (ours/official)": configs[name]["peak_rss_mb_final"]
                / configs["official"]["peak_rss_mb_final"],
            }
    return {"info": info, "reference_frame": ref, "warmup_frames": args.warmup, "configs": configs, "ratios": ratios}


def write_outputs(series: dict, summary: dict, out: Path, args) -> None:
    # Per-window CSV (small enough to keep in the repository).
    with open(out.with_suffix(".csv"), "w", newline="") as f:
        fields = ["config", "frame_start", "frame_end", "median_ms", "mean_ms", "max_ms", "peak_rss_mb", "rss_mb",
                  "gpu_peak_mb", "working_elements", "long_term_elements", "tier_mb", "mean_iou_vs_official"]
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for name, s in series.items():
            n = len(s["frame"])
            for lo in range(0, n, args.csv_window):
                hi = min(lo + args.csv_window, n)
                sec = np.asarray(s["seconds"][lo:hi], float) * 1000
                iou = np.asarray(s["iou_vs_official"][lo:hi], float)
                w.writerow({
                    "config": name, "frame_start": s["frame"][lo], "frame_end": s["frame"][hi - 1],
                    "median_ms": round(float(np.median(sec)), 2), "mean_ms": round(float(sec.mean()), 2),
                    "max_ms": round(float(sec.max()), 2), "peak_rss_mb": round(float(s["peak_rss_mb"][hi - 1]), 1),
                    "rss_mb": round(float(s["rss_mb"][hi - 1]), 1),
                    "gpu_peak_mb": "" if np.isnan(s["gpu_peak_mb"][hi - 1]) else round(float(s["gpu_peak_mb"][hi - 1]), 1),
                    "working_elements": s["working_elements"][hi - 1],
                    "long_term_elements": s["long_term_elements"][hi - 1],
                    "tier_mb": round(float(s["tier_mb"][hi - 1]), 2),
                    "mean_iou_vs_official": round(float(np.nanmean(iou)), 4) if np.isfinite(iou).any() else "",
                })
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1, default=float))
    if not args.no_plot:
        from benchmarks.plot import plot_series

        plot_series(series, summary, out.with_suffix(".png"))
    print(format_summary(summary))


def format_summary(summary: dict) -> str:
    lines = [f"reference frame {summary['reference_frame']}, warm-up {summary['warmup_frames']} frames"]
    for name, c in summary["configs"].items():
        if not c.get("frames_run"):
            lines.append(f"  {name}: no frames")
            continue
        line = (f"  {name}: {c['frames_run']} frames, median {c['median_ms']:.1f} ms/frame, peak RSS "
                f"{c['peak_rss_mb_at_ref']:.0f} MiB at ref -> {c['peak_rss_mb_final']:.0f} MiB at end "
                f"({c['peak_rss_growth_after_ref_pct']:+.2f}%), WM {c['working_elements_final']} LT "
                f"{c['long_term_elements_final']} elements, tiers {c['tier_mb_final']:.1f} MiB")
        if name == "bound":
            lines.append(f"  bound: this machine measured between frames: fp32 matmul {c['matmul_gflops_median']:.1f} "
                         f"GFLOP/s, 3x3 convolution {c['conv_gflops_median']:.1f} GFLOP/s (medians)")
            continue
        if "x_compute_bound_total" in c:
            line += (f", {c['x_compute_bound_total']:.2f}x the compute bound (median bound "
                     f"{c['bound_ms_median']:.0f} ms/frame)")
        if c["frames_with_nonfinite_output"]:
            line += f", NON-FINITE output on {c['frames_with_nonfinite_output']} frames"
        if "mean_iou_vs_official" in c:
            line += f", mask IoU vs official mean {c['mean_iou_vs_official']:.4f} min {c['min_iou_vs_official']:.4f}"
        lines.append(line)
    for key, r in summary["ratios"].items():
        lines.append(f"  {key}: speed-up total {r['speedup_total_time']:.2f}x, median per-frame "
                     f"{r['speedup_median_per_frame_ratio']:.2f}x, CPU time {r['speedup_total_cpu_time']:.2f}x "
                     f"over {r['frames_compared']} frames")
    for name, why in summary["info"]["stopped"].items():
        lines.append(f"  {name} stopped: {why}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=10000)
    p.add_argument("--size", type=int, default=128, help="working resolution: short side in pixels (default 128)")
    p.add_argument("--source", default=str(EXAMPLE_CLIP),
                   help="a video file / frame folder, looped ping-pong (default: the bundled judo clip), or "
                        "'synthetic[:SEED]' (xmem_demo.synthetic)")
    p.add_argument("--mask", default=str(EXAMPLE_MASK),
                   help="first-frame index mask of a real clip (default: the judo clip's)")
    p.add_argument("--objects", type=int, default=2, help="objects in the synthetic clip (default 2)")
    p.add_argument("--configs", default="full,no-lt", help="comma-separated: full, full-bf16, no-lt, official")
    p.add_argument("--official", help="path to a checkout of the official XMem repository (enables 'official')")
    p.add_argument("--weights", default="golden", help="'golden' (default), a checkpoint path, or tiny:SEED")
    p.add_argument("--memory", help="MemoryConfig overrides, e.g. 'num_prototypes=16,max_long_term_elements=200'")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch threads per configuration (default: torch's)")
    p.add_argument("--no-lt-max-elements", type=int, default=50000,
                   help="stop the no-lt baseline beyond this many working-memory elements (default 50000 = 5 L_max)")
    p.add_argument("--no-lt-max-rss-mb", type=float, default=6000, help="... or beyond this RSS (default 6000 MiB)")
    p.add_argument("--ref-frame", type=int, default=2000, help="frame whose peak memory the end is compared with")
    p.add_argument("--warmup", type=int, default=10, help="frames left out of medians and ratios")
    p.add_argument("--window", type=int, default=1000, help="frames per window in the speed-up table")
    p.add_argument("--csv-window", type=int, default=50, help="frames per row of PREFIX.csv")
    p.add_argument("--out", default="benchmarks/results/long_video", help="output prefix")
    p.add_argument("--frames-csv", help="per-frame CSV path (default PREFIX.frames.csv)")
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--bound", action="store_true",
                   help="also re-measure the machine's matmul/convolution throughput between frames and report each "
                        "configuration's time as a multiple of the compute bound (benchmarks/compute_bound.py)")
    return p


def main(argv: list[str] | None = None) -> dict:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    main()
