"""The `xmem-demo` command line.

    xmem-demo segment VIDEO_OR_FRAME_DIR --mask MASK.png [--mask-frame N] --out DIR
    xmem-demo segment --example --out DIR       # the bundled judo clip and its first-frame mask
    xmem-demo download NAME
    xmem-demo app [--host H] [--port P]          # the web app (needs the app extra)
    xmem-demo --version
    xmem-demo segment-many DATASET --out PRED [--workers N | --engine ray] [--shard i/n]
    xmem-demo eval PRED_DIR GT_DIR [--workers N] [--csv DIR]   # also reads segment's output folders
"""

from __future__ import annotations

import os
import sys


def _interrupted_while_starting() -> None:
    """Ctrl-C while torch and the package load (seconds): one line, exit 130, never a traceback.
    Only when this module runs the command (`xmem-demo`, `python -m xmem_demo.cli`); a library
    import of this module is interrupted as usual."""
    if __name__ == "__main__" or os.path.basename(sys.argv[0] if sys.argv else "") == "xmem-demo":
        print("xmem-demo: interrupted while starting; nothing was written", file=sys.stderr, flush=True)
        # os._exit, not SystemExit: nothing is open yet, and an interrupt that lands inside the
        # interpreter's own handling of the half-imported modules made the normal shutdown end
        # by SIGINT instead (exit -2, about 1 run in 5 of the test below, seen in CI runs)
        os._exit(130)


try:
    import argparse
    import signal
    import time
    import zipfile
    from dataclasses import dataclass
    from pathlib import Path
    from typing import Any

    import numpy as np
    import torch

    from . import validate
    from .config import MemoryConfig
    from .errors import UserError
    from .hardware import choose_precision
    from .outdir import OutputDir
    from .portable import Terminated, deferred_signals, peak_rss_mib, sigterm_unwinds
    from .threads import apply_thread_policy, choose_threads
    from .video import check_mask_shape
except KeyboardInterrupt:
    _interrupted_while_starting()
    raise


class UsageError(UserError):
    """A command line that cannot run (arguments that do not fit together): one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the argument and the problem), exit code 2."""

    def error(self, message: str):
        self.exit(2, f"xmem-demo: error: {message} (see '{self.prog} --help')\n")


class DefaultsHelp(argparse.HelpFormatter):
    """--help shows each option's default, unless its help already says it (or it has none)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        no_default = action.default is None or action.default is argparse.SUPPRESS or isinstance(action.default, bool)
        if "default" in text or no_default or action.required:
            return text
        return f"{text} (default: %(default)s)"


def add_memory_arguments(p: argparse.ArgumentParser) -> None:
    """Memory settings, with the official flag names (and the paper's symbols): one flag per
    `MemoryConfig.settings()` entry, so the list is defined once, in config.py."""
    d = MemoryConfig()
    g = p.add_argument_group("memory (official XMem flag names)")
    for name, setting in MemoryConfig.settings().items():
        default = getattr(d, name)
        if setting.flag is None:
            continue
        if isinstance(default, bool):  # a switch: the flag sets the opposite of the default
            g.add_argument(setting.flag, dest=name, action="store_const", const=not default, default=default,
                           help=setting.help)
        else:
            g.add_argument(setting.flag, dest=name, type=int, default=default,
                           help=f"{setting.help} (default {default})")


def memory_config_from_args(args: argparse.Namespace) -> MemoryConfig:
    try:
        return MemoryConfig(**{name: getattr(args, name) for name, s in MemoryConfig.settings().items() if s.flag})
    except ValueError as err:
        raise UsageError(str(err)) from None


def warn(message: str) -> None:
    print(f"xmem-demo: warning: {message}", file=sys.stderr)


@dataclass
class SegmentPlan:
    """Everything `segment` needs, checked before the model loads or a frame is tracked."""

    source: Any  # VideoSource
    mask: np.ndarray  # uint8 H x W, void removed
    labels: list[int]
    out: Path
    save_probs: Path | None
    device: torch.device
    size: int | None
    config: MemoryConfig
    probs_bytes: int = 0


def check_weights_argument(name: str) -> None:
    """Cheap checks of --weights (no download, no load): known name, or an existing file."""
    from .weights import OFFICIAL_FILES, WeightsError, cached_path, offline, weights_file

    if name in ("auto", "lite", "mini"):
        return
    if name in OFFICIAL_FILES:
        if offline() and not cached_path(name).exists():
            raise WeightsError(
                f"--weights {name}: the official file is not cached and XMEM_DEMO_OFFLINE=1 is set; "
                f"place {OFFICIAL_FILES[name]} at {cached_path(name)} or use --weights lite (offline)"
            )
        return
    weights_file(name)


def resolve_example(args: argparse.Namespace) -> None:
    """--example: the bundled judo clip and its frame-0 mask, found inside the installed package."""
    if args.example:
        if args.video is not None or args.mask is not None:
            raise UsageError("--example brings its own clip and mask; give either --example or VIDEO --mask MASK.png")
        from .resources import EXAMPLE_CLIP, EXAMPLE_MASK

        args.video, args.mask = str(EXAMPLE_CLIP), str(EXAMPLE_MASK)
        if args.mask_frame != 0:
            raise UsageError("--example's mask is for frame 0; leave out --mask-frame")
        return
    if args.video is None:
        raise UsageError("give a VIDEO (file or folder of frames) and --mask MASK.png, or --example")
    if args.mask is None:
        raise UsageError("--mask MASK.png is required (the index mask of --mask-frame), or use --example")


def void_label_from_args(args: argparse.Namespace) -> int | None:
    if str(args.void_label).lower() == "none":
        return None
    if not str(args.void_label).isdigit() or not 1 <= int(args.void_label) <= 255:
        raise UsageError(f"--void-label '{args.void_label}': give a label 1..255, or 'none'")
    return int(args.void_label)


def resolve_precision(args: argparse.Namespace, device: torch.device) -> str:
    """--precision auto -> from the hardware (hardware.py); checked against the device."""
    requested = args.precision
    if requested == "auto":  # bf16 only with native bf16
        args.precision = choose_precision(device).precision
    validate.check_precision(args.precision, device, name="--precision")
    args.precision_reason = choose_precision(device, requested).reason
    return args.precision


def plan_segment(args: argparse.Namespace) -> SegmentPlan:
    """Validate arguments, inputs and output places, in that order; raises one-line errors."""
    from .masks import read_annotation
    from .video import open_video

    resolve_example(args)
    config = memory_config_from_args(args)
    validate.check_working_size(args.size)
    device = validate.resolve_device(args.device)
    resolve_precision(args, device)
    check_weights_argument(args.weights)
    out = validate.check_output_dir(args.out)
    # Inputs are sacred: no output may be, hold, or lie inside an input (checked before any work).
    inputs = {"video": args.video, "--mask": args.mask}
    if Path(args.weights).suffix.lower() in (".pth", ".pt"):
        inputs["--weights"] = args.weights
    validate.check_apart_from_inputs(out, inputs, "--out")
    save_probs = None
    if args.save_probs is not None:
        save_probs = validate.check_output_file(args.save_probs, ".npz", "--save-probs")
        validate.check_apart_from_inputs(save_probs, inputs, "--save-probs")
    OutputDir(out).check_foreign()  # a file with our names we did not write: refused, never deleted
    source = open_video(args.video)
    info = source.info
    if source.damage:
        warn(source.damage)
    validate.check_frame_size(info.height, info.width, f"'{Path(args.video).name}'")
    size = validate.check_working_size(args.size, (info.height, info.width))
    if not 0 <= args.mask_frame < len(source):
        raise UsageError(f"--mask-frame {args.mask_frame} is outside the video (0..{len(source) - 1})")
    void = void_label_from_args(args)
    ann = read_annotation(args.mask, void_label=void)
    for message in ann.warnings:
        warn(message)
    check_mask_shape(ann.mask, (info.height, info.width))
    plan = SegmentPlan(source, ann.mask, ann.labels, out, save_probs, device, size, config)
    if save_probs is not None:
        plan.probs_bytes = len(source) * (len(ann.labels) + 1) * info.height * info.width * 4
        # the memmap and the .npz it is stored into exist together for a moment
        validate.check_free_space(save_probs.parent, 2 * plan.probs_bytes, "--save-probs")
    return plan


def _next_frame(last: tuple[int, str] | None, mask_frame: int) -> dict[str, Any]:
    """The frame a run would have processed after the last one written (the backward pass to 0
    first, then forward from the mask frame)."""
    if last is None:
        return {"frame": mask_frame - 1, "direction": "backward"} if mask_frame else {"frame": 0, "direction": "forward"}
    index, direction = last
    if direction == "backward":
        return {"frame": index - 1, "direction": "backward"} if index > 0 else {"frame": mask_frame, "direction": "forward"}
    return {"frame": index + 1, "direction": "forward"}


def cmd_segment(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .outdir import part_name, write_atomic
    from .palette import contrast_palette, display_overlay
    from .pipeline import track
    from .run_writer import RunWriter, status_of
    from .weights import resolve_model

    plan = plan_segment(args)
    source = plan.source
    info = source.info
    num = len(source)
    model, weights = resolve_model(args.weights, device=plan.device)  # before --out is touched: a bad file leaves no trace
    print(weights.notice, file=sys.stderr)
    print(f"precision {args.precision}: {getattr(args, 'precision_reason', '')}", file=sys.stderr)
    threads = apply_thread_policy(choose_threads("single"))  # one job; xmem_demo/threads.py
    print(f"threads {threads.describe()}", file=sys.stderr)
    # The overlay is drawn as the app draws it (one look, one writer): bright colours
    # reordered to stand out on the first frame; the masks keep the DAVIS palette.
    colours = contrast_palette(source.get(0))
    run = RunWriter(plan.out, frames_total=num, source=source, fps=info.fps or 24.0,
                    videos={"overlay.mp4": lambda frame, mask: display_overlay(frame, mask, palette=colours)})
    with run:
        args.wrote_results = True  # from here on an interruption leaves a summary.json
        if run.removed:
            warn(f"replacing an earlier run's results in '{plan.out}' ({run.removed} masks removed)")
        probs_part = part_name(plan.save_probs).with_suffix(".npy") if plan.save_probs else None
        probs_file = None
        extra: dict[str, Any] = {
            "device": str(plan.device),
            "precision": args.precision,
            "precision_reason": getattr(args, "precision_reason", ""),
            "threads": threads.threads,
            "threads_reason": threads.describe(),
            "working_size": plan.size,
            "weights": weights.name,
            "official_weights": weights.official,
            "weights_file": str(weights.path),
            "objects": plan.labels,
            "mask_frame": args.mask_frame,
            "output": str(plan.out),
        }
        if source.damage:
            extra["input_damage"] = source.damage
        bar = tqdm(total=num, unit="frame", desc="segmenting", file=sys.stderr)
        status, reason = "interrupted", "stopped by a signal"  # until the run says otherwise
        try:
            if plan.save_probs is not None:
                shape = (num, len(plan.labels) + 1, info.height, info.width)
                probs_file = np.lib.format.open_memmap(probs_part, mode="w+", dtype=np.float32, shape=shape)
            if plan.device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(plan.device)
            # The backward pass first, so the forward frames go straight into the overlay.
            for result in track(model, source, {args.mask_frame: plan.mask}, plan.config, working_size=plan.size,
                                keep_probs=probs_file is not None, backward_first=True, precision=args.precision):
                row = result.record.summary()
                row.update(frame=result.index, direction=result.direction)
                run.add(result.index, result.direction, result.mask, frame=result.frame, row=row)
                if probs_file is not None:
                    probs_file[result.index] = result.prob.numpy()
                bar.update(1)
                bar.set_postfix(fps=f"{len(run.done) / (time.perf_counter() - run.started):.1f}")
            bar.close()
            if probs_file is not None:
                probs_file.flush()
                del probs_file
                probs_file = None

                def store(tmp: Path) -> None:
                    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
                        zf.write(probs_part, arcname="probs.npy")

                write_atomic(plan.save_probs, store)
                extra["probs"] = str(plan.save_probs)
        except BaseException as err:
            bar.close()
            status, reason = status_of(err)
            if plan.save_probs is not None:
                reason += "; --save-probs was not written (it is only written for a complete run)"
            extra["stopped_at"] = _next_frame(run.last, args.mask_frame)
            raise
        else:
            status, reason = "done", ""
        finally:
            if probs_file is not None:
                del probs_file
            if probs_part is not None:
                probs_part.unlink(missing_ok=True)
            if plan.device.type == "cuda":
                extra["peak_cuda_mib"] = round(torch.cuda.max_memory_allocated(plan.device) / 2**20, 1)
            run.close(status, reason, extra)
            args.summary_error = run.summary_error  # main() names it in its last line
    summary = run.summary
    if summary is None:  # the disk was too full even for the summary
        print(f"xmem-demo: error: {run.summary_error}", file=sys.stderr)
        return 1
    print(
        f"done: {len(run.done)} frames in {summary['seconds']:.1f} s ({summary['fps']} FPS), "
        + (f"peak RSS {summary['peak_rss_mib']} MiB" if summary["peak_rss_mib"] is not None else "peak RSS not known here")
        + (f", peak CUDA {summary['peak_cuda_mib']} MiB" if "peak_cuda_mib" in summary else "")
        + f" -> {plan.out}"
    )
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from .weights import WeightsError, download_official, expected_digest, offline

    if offline():
        raise WeightsError(
            f"XMEM_DEMO_OFFLINE=1 is set: '{args.name}' is not downloaded; unset it, or place the file in the cache by hand"
        )
    path = download_official(args.name)
    known = expected_digest(path)
    print(path)
    if known is not None:
        print(f"size {known[0]} bytes, sha256 {known[1]} ({known[2]})", file=sys.stderr)
    return 0


def cmd_segment_many(args: argparse.Namespace) -> int:
    from .batch.datasets import parse_shard, read_names
    from .batch.engines import LocalEngine, RayEngine, import_ray, plan_local_workers
    from .batch.job import BatchRequest, segment_many
    from .batch.runner import RunSettings
    from .weights import resolve

    config = memory_config_from_args(args)
    size = validate.check_working_size(args.size)
    if args.engine == "ray":
        import_ray()  # a missing extra is said before anything else happens
        gpus = args.gpus_per_task if args.gpus_per_task is not None else 0
        device = torch.device("cuda" if gpus else "cpu")  # the workers' device, not necessarily this machine's
    else:
        device = validate.resolve_device(args.device)
    if args.engine == "local" and args.precision != "auto":
        validate.check_precision(args.precision, device, name="--precision")
    check_weights_argument(args.weights)
    print(resolve(args.weights).notice, file=sys.stderr)  # fetched once here, before the workers start
    # --precision auto is resolved by each worker on its own hardware (as `segment` does on its).
    settings = RunSettings(weights=args.weights, device=str(device), size=size, precision=args.precision,
                           memory=config, threads=args.threads or 1, void_label=void_label_from_args(args))
    request = BatchRequest(
        root=Path(args.root), out=validate.check_output_dir(args.out), layout=args.layout,
        sequences=read_names(args.sequences) if args.sequences else None,
        shard=parse_shard(args.shard) if args.shard else None, redo=args.redo, show_progress=not args.no_progress,
    )

    def engine_for(todo: int):
        if args.engine == "ray":
            return RayEngine(args.address, cpus=args.threads or 1, gpus=args.gpus_per_task or 0)
        return LocalEngine(plan_local_workers(str(device), todo, args.workers, args.threads, size))

    report = segment_many(request, settings, engine_for)
    total = report.overall
    line = f"done: {total['done']} of {total['sequences']} sequences on disk, {total['frames']} frames"
    if total.get("JF") is not None:
        line += f"; J&F {total['JF']:.3f} (J {total['J']:.3f}, F {total['F']:.3f}) over {total['objects_scored']} objects"
    print(line + f" -> {request.out}/summary.csv, summary.json")
    for r in report.failed:
        print(f"xmem-demo: failed: {r.sequence}: {r.error}", file=sys.stderr)
    if report.failed:
        print(f"xmem-demo: {len(report.failed)} sequence(s) failed and were skipped; fix them and run the same "
              "command again (finished sequences are not redone)", file=sys.stderr)
        return 1
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .batch.engines import cpu_count
    from .metrics import evaluate_folders, format_table, write_csv

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers {args.workers}: give 1 or more")
    results = evaluate_folders(args.pred, args.gt, workers=args.workers or cpu_count())
    print(format_table(results))
    if args.csv:
        for path in write_csv(results, args.csv):
            print(f"wrote {path}", file=sys.stderr)
    return 0


def version_line() -> str:
    from . import __version__

    return f"xmem-demo {__version__} (torch {torch.__version__}, python {sys.version.split()[0]}, {sys.platform})"


def cmd_app(args: argparse.Namespace) -> int:
    try:
        from .app.serve import serve
    except ImportError as err:  # gradio (the app extra) is not installed
        raise UsageError(f"the app needs the app extra: pip install 'xmem-demo[app]' ({err})") from None
    serve(args.host, args.port, args.share)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="xmem-demo", description="XMem video object segmentation")
    p.add_argument("--version", action="version", version=version_line())
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("segment", help="propagate a mask through a video", formatter_class=DefaultsHelp)
    s.add_argument("video", nargs="?", help="video file (mp4, mov, webm, avi, mkv, gif) or a folder of frames")
    s.add_argument("--example", action="store_true",
                   help="segment the bundled judo clip from its frame-0 mask (no VIDEO or --mask)")
    s.add_argument("--mask", help="index mask PNG (palette or grayscale) for --mask-frame (required without --example)")
    s.add_argument("--mask-frame", type=int, default=0, help="frame the mask belongs to")
    s.add_argument("--out", required=True,
                   help="output folder (masks/, overlay.mp4, summary.json); `xmem-demo eval` reads it as a sequence "
                        "(e.g. --out preds/judo, then eval preds GT)")
    s.add_argument("--weights", default="auto",
                   help="auto (official if available, else the bundled lite model, else mini), xmem, xmem-s012, "
                        "xmem-s2, xmem-no-sensory, lite, mini, or a .pth path")
    s.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    s.add_argument("--size", type=int, default=480,
                   help="short side of the working resolution; -1 keeps the input. 480 is what the official "
                        "eval.py uses (the setting of the paper's results); the app starts at 360 on CPU (0.56x the "
                        "pixels of 480, for interactive speed) and 480 on GPU")
    s.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"],
                   help="auto (default): bf16 where the CPU has native bf16 (AVX512_BF16 / AMX) or on a CUDA GPU "
                        "(fp16 without bf16), else fp32; the reason is in summary.json. fp32 = the official "
                        "arithmetic; bf16/fp16: decoder and value encoder under autocast; fp16 needs CUDA")
    s.add_argument("--save-probs", metavar="F.npz", help="also save probabilities (frames, objects+1, H, W) float32")
    s.add_argument("--void-label", default="255",
                   help="mask label treated as DAVIS 'void' (ignored, not tracked); 'none' tracks every label")
    add_memory_arguments(s)
    s.set_defaults(func=cmd_segment)

    d = sub.add_parser("download", help="fetch official weights into the cache")
    d.add_argument("name", help="xmem, xmem-s012, xmem-s2 or xmem-no-sensory")
    d.set_defaults(func=cmd_download)

    m = sub.add_parser("segment-many", help="segment every sequence of a dataset (DAVIS, YouTube-VOS, a folder of videos)",
                       formatter_class=DefaultsHelp,
                       description="Segment a dataset into OUT/<seq>/00000.png ... (the layout 'xmem-demo eval' reads), "
                                   "with OUT/summary.csv and summary.json (frames, FPS, peak memory, J&F where there "
                                   "is ground truth). Resumable: finished sequences are skipped; one sequence's bad "
                                   "input is reported and the rest go on. See docs/datasets.md and docs/cluster.md.")
    m.add_argument("root", help="dataset folder: DAVIS (JPEGImages/480p/, Annotations/480p/), YouTube-VOS "
                                "(JPEGImages/, Annotations/) or videos each with <name>.png / <name>_mask_<N>.png")
    m.add_argument("--out", required=True, help="predictions folder: <seq>/00000.png ..., summary.csv, summary.json")
    m.add_argument("--layout", default="auto", choices=["auto", "davis", "youtube", "videos"],
                   help="dataset layout (auto: from its folders)")
    m.add_argument("--sequences", metavar="A,B|@FILE",
                   help="only these sequences (a comma list, or @FILE with one name per line, e.g. a DAVIS ImageSets file)")
    m.add_argument("--shard", metavar="I/N", help="only every N-th sequence from I (SLURM array index, torchrun rank)")
    m.add_argument("--redo", action="store_true", help="segment finished sequences again")
    m.add_argument("--engine", default="local", choices=["local", "ray"],
                   help="local: worker processes on this machine; ray: one Ray task per sequence (pip install "
                        "'xmem-demo[ray]')")
    m.add_argument("--address", help="--engine ray: the cluster to join (e.g. auto, or ray://head:10001); "
                                     "default: start a local Ray instance")
    m.add_argument("--workers", type=int, help="local worker processes (default: from the machine's cores, GPUs "
                                                "and memory; printed)")
    m.add_argument("--threads", type=int, help="torch threads per worker / CPUs per Ray task (default: the cores "
                                                "divided among the workers; 1 per Ray task)")
    m.add_argument("--gpus-per-task", type=float, help="--engine ray: GPUs per task (default 0: CPU tasks)")
    m.add_argument("--weights", default="auto", help="as for 'segment': auto, lite, mini, an official name, or a .pth path")
    m.add_argument("--device", default="auto", help="local engine: auto, cpu, cuda (one worker per GPU), cuda:N")
    m.add_argument("--size", type=int, default=480, help="short side of the working resolution; -1 keeps the input")
    m.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"],
                   help="as for 'segment'; auto is decided by each worker from its hardware (in summary.csv)")
    m.add_argument("--void-label", default="255", help="as for 'segment'")
    m.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_memory_arguments(m)
    m.set_defaults(func=cmd_segment_many)

    e = sub.add_parser("eval", help="J&F of predicted masks against ground truth (DAVIS layout)")
    e.add_argument("pred", help="folder of predictions: <seq>/00000.png ... or segment's output <seq>/masks/00000.png ...")
    e.add_argument("gt", help="folder of ground truth: <seq>/00000.png ...")
    e.add_argument("--workers", type=int, help="sequences scored at once, in worker processes (default: the CPU cores)")
    e.add_argument("--csv", metavar="DIR", help="also write DIR/per-sequence.csv and DIR/per-object.csv")
    e.set_defaults(func=cmd_eval)

    a = sub.add_parser("app", help="start the web app (needs the app extra)")
    from .app.serve import add_arguments  # serve.py imports no gradio at the top

    add_arguments(a)
    a.set_defaults(func=cmd_app)
    return p


def _what_was_kept(args: argparse.Namespace) -> str:
    if getattr(args, "summary_error", None):
        return f"finished masks kept; {args.summary_error}"
    if getattr(args, "wrote_results", False):
        return "finished files kept, see summary.json"
    return "stopped before any result was written"


def main(argv: list[str] | None = None) -> int:
    """The command line. Ctrl-C at any moment ends with one line (exit 130), never a traceback."""
    try:
        return _main(argv)
    except KeyboardInterrupt:  # e.g. while parsing arguments or during the lazy imports of a command
        print("xmem-demo: interrupted; nothing more was written", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with sigterm_unwinds():
            return args.func(args)
    except (UserError, FileNotFoundError) as err:  # the one family of errors a user can fix (errors.py)
        print(f"xmem-demo: error: {err}", file=sys.stderr)
        return 2
    except Terminated:
        print(f"xmem-demo: terminated (SIGTERM); {_what_was_kept(args)}", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print(f"xmem-demo: interrupted; {_what_was_kept(args)}", file=sys.stderr)
        return 130
    except OSError as err:  # e.g. the disk filled up mid-run
        kept = f"; {_what_was_kept(args)}" if getattr(args, "wrote_results", False) else ""
        print(f"xmem-demo: error: {err}{kept}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
