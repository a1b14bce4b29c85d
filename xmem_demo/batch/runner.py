"""One worker: segment sequences one after another with one model, each into PRED/<seq>/.

`SequenceRunner.run(spec)` does for one sequence what `xmem-demo segment` does for one clip
(the same `track()` call with the same arguments, so the same masks), then scores it when
the dataset has ground truth, and writes its done-marker last (summary.py). Bad input in
one sequence (an unreadable frame, a mask of the wrong size, no annotation) becomes a
"failed" row with the reason; the worker goes on with the next sequence.

The model is loaded on the first sequence and kept: once per worker process, whichever
engine runs the worker (engines.py). `run_in_this_process` is the entry point for engines
that send sequences to long-lived processes (a process pool, Ray workers): it keeps one
runner per process.
"""

from __future__ import annotations

import dataclasses
import math
import os
import socket
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..checkpoint import CheckpointError
from ..config import MemoryConfig
from ..errors import InputError, MaskError, VideoError
from ..weights import WeightsError
from .datasets import SequenceSpec, load_sequence
from .summary import SequenceResult, write_marker

# Bad input a user can fix: reported as the sequence's error, the run goes on.
INPUT_ERRORS = (InputError, MaskError, VideoError, FileNotFoundError)


@dataclass(frozen=True)
class RunSettings:
    """What every worker needs to segment a sequence (plain data: it travels to other processes)."""

    weights: str = "auto"  # any name `weights.resolve_model` takes, or a .pth path
    device: str = "cpu"  # this worker's device ("cuda:1" for the second GPU of a local run)
    size: int | None = 480  # short side of the working resolution; None keeps the input
    precision: str = "auto"  # auto: from the worker's hardware (hardware.choose_precision), as `segment` does
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    threads: int = 1  # torch intra-op threads of this worker
    void_label: int | None = 255

    def for_device(self, device: str) -> "RunSettings":
        return dataclasses.replace(self, device=device)

    def output_settings(self) -> dict[str, Any]:
        """The settings that decide the masks (not where or how fast they run): a sequence done
        with other ones is redone, never mixed into one set of results."""
        return {
            "weights": self.weights,
            "size": self.size,
            "precision": self.precision,
            "memory": dataclasses.asdict(self.memory),
            "void_label": self.void_label,
        }


class PeakMemory:
    """Peak resident memory of this process over one sequence (Linux: VmHWM, reset per
    sequence through /proc/self/clear_refs; elsewhere the process's lifetime peak)."""

    def reset(self) -> None:
        try:
            Path("/proc/self/clear_refs").write_text("5")  # 5: reset the peak RSS (proc(5))
        except OSError:
            pass  # not Linux: the lifetime peak it is

    def peak_mib(self) -> float:
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
        except (OSError, ValueError, IndexError):
            pass
        from ..portable import peak_rss_mib

        return peak_rss_mib() or 0.0


Progress = Callable[[str, str, int], None]  # (event, sequence, number): "start" n_frames / "frames" k


class SequenceRunner:
    """Segments sequences in this process; the model loads once, on first use."""

    def __init__(self, settings: RunSettings, out: Path, progress: Progress = lambda *a: None) -> None:
        import torch

        self.settings = settings
        self.out = Path(out)
        self.progress = progress
        self._model = None
        self.weights_name = ""
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        torch.set_num_threads(max(1, settings.threads))

    def model(self):
        if self._model is None:
            from ..weights import resolve_model

            # The driver fetched the weights before starting workers: here they are cached (on
            # another node of a cluster they are fetched once there, atomically).
            self._model, info = resolve_model(self.settings.weights, device=self.settings.device)
            self.weights_name = info.name
        return self._model

    def run(self, spec: SequenceSpec) -> SequenceResult:
        """Segment one sequence into out/<name>/ and return its row (its marker is on disk)."""
        from ..outdir import OutputDir

        seq_dir = self.out / spec.name
        try:
            folder = OutputDir(seq_dir, masks_subdir="").acquire()  # two runs never write one sequence
        except InputError as err:  # in use by another run (e.g. an overlapping shard): not ours to mark
            return SequenceResult(spec.name, "failed", error=str(err), worker=self.worker)
        try:
            try:
                folder.clear_previous()  # a half-written earlier attempt (only files a run recorded)
            except InputError as err:  # files with our names we did not write: never deleted
                return SequenceResult(spec.name, "failed", error=str(err), worker=self.worker)
            try:
                result = self._segment(spec, seq_dir, folder)
            except INPUT_ERRORS as err:
                result = SequenceResult(spec.name, "failed", error=f"{type(err).__name__}: {err}")
            except (CheckpointError, WeightsError) as err:
                result = SequenceResult(spec.name, "failed", error=f"weights: {err}")
            except Exception as err:  # a bug, not the user's input: say so, with where it happened
                where = traceback.format_exc(limit=-3).strip().splitlines()
                result = SequenceResult(spec.name, "failed",
                                        error=f"internal error {type(err).__name__}: {err} ({' | '.join(where[-3:])})")
            result.worker = self.worker
            result.settings = self.settings.output_settings()
            write_marker(seq_dir, result)
            return result
        finally:
            folder.release()

    def _segment(self, spec: SequenceSpec, seq_dir: Path, folder=None) -> SequenceResult:
        import torch

        from ..outdir import write_atomic
        from ..pipeline import track
        from ..video import write_index_mask

        from ..hardware import choose_precision

        s = self.settings
        loaded = load_sequence(spec, void_label=s.void_label)
        if folder is not None:  # the manifest, before the first write (outdir.py)
            folder.claim(0, files=(), mask_names=tuple(loaded.output_names))
        with loaded.source as source:
            for message in loaded.warnings:
                print(f"xmem-demo: warning: {spec.name}: {message}", file=sys.stderr)
            model = self.model()
            device = torch.device(s.device)
            precision = choose_precision(device, s.precision).precision
            memory = PeakMemory()
            memory.reset()
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            self.progress("start", spec.name, len(source))
            started = time.perf_counter()
            count = 0
            # The call `xmem-demo segment` makes (cli.cmd_segment): the same masks for the same clip.
            for result in track(model, source, loaded.annotations, s.memory, working_size=s.size,
                                backward_first=True, precision=precision):
                mask = result.mask
                write_atomic(seq_dir / loaded.output_names[result.index], lambda p: write_index_mask(p, mask))
                count += 1
                self.progress("frames", spec.name, 1)
            seconds = time.perf_counter() - started
        row = SequenceResult(
            spec.name, "done", frames=count, objects=len(loaded.labels), seconds=round(seconds, 3),
            fps=round(count / max(seconds, 1e-9), 2), peak_rss_mib=round(memory.peak_mib(), 1),
            device=str(device), precision=precision,
        )
        if device.type == "cuda":
            row.peak_cuda_mib = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
        if spec.ground_truth is not None:
            score_into(row, seq_dir, spec.ground_truth)
        return row


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 6)


def score_into(row: SequenceResult, pred: Path, gt: Path) -> None:
    """J, F and J&F of the sequence (metrics.py, the DAVIS definitions) into its row."""
    from ..metrics import evaluate_sequence

    score = evaluate_sequence(pred, gt)
    row.J, row.F, row.JF = _finite(score["J"]), _finite(score["F"]), _finite(score["J&F"])
    row.per_object = {str(k): {"J": v["J"], "F": v["F"], "JF": v["J&F"]} for k, v in score["per_object"].items()}


# ---- one runner per process (process pools, Ray workers) ---------------------------------------
_RUNNERS: dict[tuple[RunSettings, str], SequenceRunner] = {}


def run_in_this_process(spec: SequenceSpec, settings: RunSettings, out: str, progress: Progress | None = None) -> SequenceResult:
    """Run `spec` with this process's runner for (settings, out), made on first use: the model
    is loaded once per process, however many sequences the process is given."""
    key = (settings, str(out))
    runner = _RUNNERS.get(key)
    if runner is None:
        runner = _RUNNERS[key] = SequenceRunner(settings, Path(out))
    if progress is not None:
        runner.progress = progress
    return runner.run(spec)
