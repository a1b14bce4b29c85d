"""The `xmem-demo` command line.

    xmem-demo segment VIDEO_OR_FRAME_DIR --mask MASK.png [--mask-frame N] --out DIR
    xmem-demo download NAME
    xmem-demo eval PRED_DIR GT_DIR
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import torch

from .checkpoint import CheckpointError
from .config import MemoryConfig
from .errors import MaskError, VideoError
from .session import pick_device


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


def add_memory_arguments(p: argparse.ArgumentParser) -> None:
    """Memory settings, with the official flag names (and the paper's symbols)."""
    d = MemoryConfig()
    g = p.add_argument_group("memory (official XMem flag names)")
    g.add_argument("--mem-every", type=int, default=d.mem_every, help="r: a memory frame every r frames")
    g.add_argument("--deep-update-every", type=int, default=d.deep_update_every,
                   help="sensory deep update every d frames; -1 = with every memory frame")
    g.add_argument("--top-k", type=int, default=d.top_k, help="k of the top-k softmax")
    g.add_argument("--min-mid-term-frames", type=int, default=d.min_mid_term_frames, help="T_min")
    g.add_argument("--max-mid-term-frames", type=int, default=d.max_mid_term_frames, help="T_max")
    g.add_argument("--num-prototypes", type=int, default=d.num_prototypes, help="P: prototypes per consolidation")
    g.add_argument("--max-long-term-elements", type=int, default=d.max_long_term_elements, help="L_max")
    g.add_argument("--disable-long-term", action="store_true", help="working memory only (grows without bound)")


def memory_config_from_args(args: argparse.Namespace) -> MemoryConfig:
    try:
        return MemoryConfig(
            mem_every=args.mem_every,
            deep_update_every=args.deep_update_every,
            top_k=args.top_k,
            enable_long_term=not args.disable_long_term,
            min_mid_term_frames=args.min_mid_term_frames,
            max_mid_term_frames=args.max_mid_term_frames,
            num_prototypes=args.num_prototypes,
            max_long_term_elements=args.max_long_term_elements,
        )
    except ValueError as err:
        raise UsageError(str(err)) from None


def peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cmd_segment(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .palette import overlay
    from .pipeline import track
    from .video import Mp4Writer, check_mask_shape, open_video, read_index_mask, write_index_mask
    from .weights import resolve_model

    config = memory_config_from_args(args)
    device = pick_device(args.device)
    source = open_video(args.video)
    info = source.info
    if not 0 <= args.mask_frame < len(source):
        raise UsageError(f"--mask-frame {args.mask_frame} is outside the video (0..{len(source) - 1})")
    mask = read_index_mask(args.mask)
    check_mask_shape(mask, (info.height, info.width))
    if not mask.any():
        raise UsageError(f"mask '{args.mask}' has no object (all pixels are 0)")
    out = Path(args.out)
    masks_dir = out / "masks"
    masks_dir.mkdir(parents=True, exist_ok=True)

    model, notice = resolve_model(args.weights, device=device)
    print(notice, file=sys.stderr)
    num = len(source)
    probs_file = None
    if args.save_probs:
        labels = sorted(int(v) for v in np.unique(mask) if v)
        shape = (num, len(labels) + 1, info.height, info.width)
        tmp_npy = out / ".probs.npy"
        probs_file = np.lib.format.open_memmap(tmp_npy, mode="w+", dtype=np.float32, shape=shape)

    size = None if args.size == -1 else args.size
    started = time.perf_counter()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    done = 0
    bar = tqdm(total=num, unit="frame", desc="segmenting", file=sys.stderr)
    writer = Mp4Writer(out / "overlay.mp4", fps=info.fps or 24.0)
    with writer:
        backward_done = args.mask_frame == 0
        for result in track(model, source, {args.mask_frame: mask}, config, working_size=size,
                            keep_probs=probs_file is not None, backward_first=True, precision=args.precision):
            write_index_mask(masks_dir / f"{result.index:05d}.png", result.mask)
            if probs_file is not None:
                probs_file[result.index] = result.prob.numpy()
            if result.direction == "forward":
                if not backward_done:
                    # Backward pass finished: the overlay can now be written in frame order.
                    for t in range(args.mask_frame):
                        writer.write(overlay(source.get(t), read_index_mask(masks_dir / f"{t:05d}.png")))
                    backward_done = True
                writer.write(overlay(source.get(result.index), result.mask))
            done += 1
            bar.update(1)
            bar.set_postfix(fps=f"{done / (time.perf_counter() - started):.1f}")
    bar.close()
    elapsed = time.perf_counter() - started

    if probs_file is not None:
        probs_file.flush()
        del probs_file
        with zipfile.ZipFile(args.save_probs, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            zf.write(out / ".probs.npy", arcname="probs.npy")
        (out / ".probs.npy").unlink()

    summary = {
        "frames": done,
        "seconds": round(elapsed, 2),
        "fps": round(done / elapsed, 2),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "device": str(device),
        "precision": args.precision,
        "weights": getattr(model, "checkpoint_path", args.weights),
        "output": str(out),
    }
    if device.type == "cuda":
        summary["peak_cuda_mib"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(
        f"done: {done} frames in {elapsed:.1f} s ({summary['fps']} FPS), peak RSS {summary['peak_rss_mib']} MiB"
        + (f", peak CUDA {summary['peak_cuda_mib']} MiB" if "peak_cuda_mib" in summary else "")
        + f" -> {out}"
    )
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from .weights import download_official

    path = download_official(args.name)
    print(path)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .metrics import evaluate_folders, format_table

    results = evaluate_folders(args.pred, args.gt)
    print(format_table(results))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="xmem-demo", description="XMem video object segmentation")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("segment", help="propagate a mask through a video")
    s.add_argument("video", help="video file (mp4, mov, webm, avi, mkv, gif) or a folder of frames")
    s.add_argument("--mask", required=True, help="index mask PNG (palette or grayscale) for --mask-frame")
    s.add_argument("--mask-frame", type=int, default=0, help="frame the mask belongs to (default 0)")
    s.add_argument("--out", required=True, help="output folder (masks/, overlay.mp4, summary.json)")
    s.add_argument("--weights", default="auto",
                   help="auto (official if available, else the bundled mini model), xmem, xmem-s012, "
                        "xmem-s2, xmem-no-sensory, mini, or a .pth path")
    s.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    s.add_argument("--size", type=int, default=480, help="short side of the working resolution; -1 keeps the input")
    s.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"],
                   help="fp32 (default, as the official code); bf16/fp16: decoder and value encoder under autocast, "
                        "~1.7x faster on CPUs with AVX512-BF16 (benchmarks/README.md); fp16 needs CUDA")
    s.add_argument("--save-probs", metavar="F.npz", help="also save probabilities (frames, objects+1, H, W) float32")
    add_memory_arguments(s)
    s.set_defaults(func=cmd_segment)

    d = sub.add_parser("download", help="fetch official weights into the cache")
    d.add_argument("name", help="xmem, xmem-s012, xmem-s2 or xmem-no-sensory")
    d.set_defaults(func=cmd_download)

    e = sub.add_parser("eval", help="J&F of predicted masks against ground truth (DAVIS layout)")
    e.add_argument("pred", help="folder of predictions: <seq>/00000.png ...")
    e.add_argument("gt", help="folder of ground truth: <seq>/00000.png ...")
    e.set_defaults(func=cmd_eval)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    try:
        return args.func(args)
    except (UsageError, MaskError, CheckpointError, VideoError, FileNotFoundError) as err:
        print(f"xmem-demo: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xmem-demo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
