"""Where sequences run: worker processes on this machine, or Ray tasks on a cluster.

Both engines hand each sequence to `runner.run_in_this_process` in a long-lived process
(so the model loads once per worker) and get its `SequenceResult` back; the files are
written by the worker, identically, whichever engine ran it.

* `LocalEngine`: a pool of worker processes (from a fork server that has imported torch
  once, `worker_context`; never forked from this process, whose threads and torch state a
  child must not inherit). On a CPU each worker gets a budget of
  torch threads; on GPUs, one worker per GPU. `plan_local_workers` chooses the default from
  the machine (cores, GPUs, available memory) and says why. Several small sequences at once
  use a multi-core CPU better than one sequence with several threads: XMem's per-frame work
  at small sizes is too little to keep several threads busy.
* `RayEngine`: one Ray task per sequence with a CPU (`num_cpus`) or GPU (`num_gpus`) budget;
  Ray reuses worker processes, and the per-process runner keeps their model. On a cluster
  the output folder must be shared storage that every node sees (docs/cluster.md).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import queue
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from ..errors import InputError
from .datasets import SequenceSpec
from .progress import ProgressBars
from .runner import RunSettings, SequenceRunner, run_in_this_process
from .summary import SequenceResult

# A worker's resident memory on a CPU, to cap the default number of workers (never a limit).
# Measured with segment-many, 1 thread, --size 480, a 480x854 clip of 12 frames: peak RSS
# 1,412 MiB with the official-size network (ResNet-50/18), 411 MiB with mini; full memory
# (T_max frames and L_max elements at 480p) adds well under 100 MiB per object. Taken as
# 1,500 MiB per 480p working area plus 400 MiB, scaled with the working area.
WORKER_MIB_AT_480 = 1500
WORKER_MIB_BASE = 400

Finished = Callable[[SequenceResult], None]


class Engine(Protocol):
    def describe(self) -> str: ...

    def run(self, specs: list[SequenceSpec], settings: RunSettings, out: Path, progress: ProgressBars) -> list[SequenceResult]: ...


# ---- the default on this machine -----------------------------------------------------------------
def cpu_count() -> int:
    """Cores this process may use (the affinity mask: what a container or `taskset` allows)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def available_mib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def worker_mib(size: int | None) -> float:
    area = 1.0 if size is None else (size / 480) ** 2
    return WORKER_MIB_BASE + WORKER_MIB_AT_480 * area


@dataclass(frozen=True)
class WorkerPlan:
    """How many worker processes, with how many threads each, on which devices; and why."""

    workers: int
    threads: int
    devices: tuple[str, ...]  # worker i runs on devices[i % len(devices)]
    reason: str

    def describe(self) -> str:
        where = "CPU" if self.devices[0] == "cpu" else ", ".join(dict.fromkeys(self.devices))
        plural = "s" if self.workers > 1 else ""
        return (f"local engine: {self.workers} worker{plural} x {self.threads} thread{'s' if self.threads > 1 else ''}"
                f" on {where} ({self.reason})")


def plan_local_workers(
    device: str, sequences: int, workers: int | None = None, threads: int | None = None,
    size: int | None = 480, cores: int | None = None, gpus: int | None = None, free_mib: float | None = None,
) -> WorkerPlan:
    """The default worker layout for `device` ("cpu", "cuda", "cuda:N"); `workers`/`threads`
    given by the user win. The machine's facts can be passed in (tests) or are read here."""
    cores = cpu_count() if cores is None else cores
    if workers is not None and workers < 1:
        raise InputError(f"--workers {workers}: give 1 or more")
    if threads is not None and threads < 1:
        raise InputError(f"--threads {threads}: give 1 or more")
    if device.startswith("cuda"):
        if device != "cuda":  # one named GPU
            devices: tuple[str, ...] = (device,)
        else:
            import torch

            count = torch.cuda.device_count() if gpus is None else gpus
            devices = tuple(f"cuda:{i}" for i in range(max(count, 1)))
        n = workers or max(1, min(len(devices), sequences))
        t = threads or max(1, cores // n)
        return WorkerPlan(n, t, devices, f"one per GPU, {len(devices)} GPU(s), {cores} CPU cores"
                          if workers is None else "--workers")
    if workers is not None:
        t = threads or max(1, cores // workers)
        return WorkerPlan(workers, t, ("cpu",), f"--workers {workers}, {cores} CPU cores")
    free = available_mib() if free_mib is None else free_mib
    by_memory = max(1, int(free // worker_mib(size))) if free is not None else cores
    n = max(1, min(cores // (threads or 1), sequences, by_memory))
    t = threads or max(1, cores // n)  # fewer sequences than cores: the spare cores become threads
    why = f"{cores} CPU cores, {sequences} sequences"
    if free is not None:
        why += f", memory for {by_memory} (about {worker_mib(size):.0f} MiB each, {free / 1024:.1f} GiB available)"
    return WorkerPlan(n, t, ("cpu",), why)


# ---- local processes --------------------------------------------------------------------------------
_worker_device = "cpu"
_worker_events: "multiprocessing.Queue | None" = None


def _init_worker(slots: "multiprocessing.Queue", events: "multiprocessing.Queue") -> None:
    global _worker_device, _worker_events
    _worker_device = slots.get()  # each worker takes one device slot (one GPU each)
    _worker_events = events


def _report(event: str, name: str, number: int) -> None:
    if _worker_events is not None:
        _worker_events.put((event, name, number))


def _pool_task(spec: SequenceSpec, settings: RunSettings, out: str) -> SequenceResult:
    return run_in_this_process(spec, settings.for_device(_worker_device), out, progress=_report)


def worker_context() -> multiprocessing.context.BaseContext:
    """How worker processes start. Where it exists (Linux, macOS), a fork server: one clean,
    single-threaded process imports torch and the runner once, and each worker is forked
    from it, so N workers cost one import instead of N (about 1.5 s of CPU each here, which
    on a small dataset is a good part of the run). Elsewhere (Windows), spawn: each worker
    imports anew. Never a plain fork of this process, whose threads (progress bars) and
    torch state a child must not inherit."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["xmem_demo.batch.runner"])  # takes effect when the server starts
        return ctx
    return multiprocessing.get_context("spawn")


class LocalEngine:
    """Worker processes on this machine (in this process when there is one worker)."""

    def __init__(self, plan: WorkerPlan) -> None:
        self.plan = plan

    def describe(self) -> str:
        return self.plan.describe()

    def run(self, specs: list[SequenceSpec], settings: RunSettings, out: Path, progress: ProgressBars) -> list[SequenceResult]:
        settings = dataclasses.replace(settings, threads=self.plan.threads)
        if self.plan.workers == 1 or len(specs) == 1:
            runner = SequenceRunner(settings.for_device(self.plan.devices[0]), out, progress)
            results = []
            for spec in specs:
                results.append(runner.run(spec))
                progress.finished(results[-1])
            return results
        return self._run_pool(specs, settings, out, progress)

    def _run_pool(self, specs: list[SequenceSpec], settings: RunSettings, out: Path, progress: ProgressBars) -> list[SequenceResult]:
        ctx = worker_context()
        workers = min(self.plan.workers, len(specs))
        slots, events = ctx.Queue(), ctx.Queue()
        for i in range(workers):
            slots.put(self.plan.devices[i % len(self.plan.devices)])
        stop = threading.Event()

        def listen() -> None:  # frame progress from the workers
            while not stop.is_set():
                try:
                    progress(*events.get(timeout=0.2))
                except queue.Empty:
                    continue

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        results: dict[str, SequenceResult] = {}
        pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(slots, events))
        try:
            futures = {pool.submit(_pool_task, spec, settings, str(out)): spec for spec in specs}
            for future in as_completed(futures):
                spec = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool:
                    # A worker was killed (out of memory, a signal): its sequences are not
                    # marked done, so the next run redoes them.
                    result = SequenceResult(spec.name, "failed", error="the worker process died (killed, e.g. "
                                            "out of memory; or see its error above); rerun to retry this sequence")
                results[spec.name] = result
                progress.finished(result)
        except BaseException:
            # Stopped (Ctrl-C reaches the workers too, one process group; SIGTERM this process
            # alone): no new sequence starts; those running finish with their marker, or, if
            # stopped, are redone next time.
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        else:
            pool.shutdown(wait=True)
        finally:
            stop.set()
            listener.join()
        return [results[s.name] for s in specs]


# ---- Ray ----------------------------------------------------------------------------------------
def _ray_task(spec: SequenceSpec, settings: RunSettings, out: str) -> SequenceResult:
    """One sequence in a Ray worker process (Ray sets CUDA_VISIBLE_DEVICES for a GPU task)."""
    return run_in_this_process(spec, settings, out)


def import_ray():
    try:
        import ray
    except ImportError:
        raise InputError("--engine ray needs Ray: pip install 'xmem-demo[ray]' (or pip install ray)") from None
    return ray


class RayEngine:
    """One Ray task per sequence, each with `cpus` CPUs (its torch threads) or `gpus` GPUs."""

    def __init__(self, address: str | None = None, cpus: int = 1, gpus: float = 0, local_cpus: int | None = None) -> None:
        if cpus < 1:
            raise InputError(f"--threads {cpus}: give 1 or more CPUs per task")
        if gpus < 0:
            raise InputError(f"--gpus-per-task {gpus}: give 0 or more")
        self.address, self.cpus, self.gpus, self.local_cpus = address, cpus, gpus, local_cpus

    def describe(self) -> str:
        where = f"the Ray cluster at {self.address}" if self.address else "a local Ray instance"
        budget = f"{self.gpus:g} GPU + {self.cpus} CPU" if self.gpus else f"{self.cpus} CPU"
        return f"ray engine: one task per sequence ({budget} each) on {where}"

    def run(self, specs: list[SequenceSpec], settings: RunSettings, out: Path, progress: ProgressBars) -> list[SequenceResult]:
        ray = import_ray()
        started_here = not ray.is_initialized()
        if started_here:
            if self.address:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=True)
            else:
                ray.init(num_cpus=self.local_cpus or cpu_count(), include_dashboard=False, log_to_driver=True)
        settings = dataclasses.replace(settings, threads=self.cpus, device="cuda" if self.gpus else "cpu")
        # max_calls=0: keep worker processes (and their loaded model) for further sequences;
        # Ray's default for GPU tasks is to end the process after each call.
        task = ray.remote(num_cpus=self.cpus, num_gpus=self.gpus, max_calls=0)(_ray_task)
        pending = {task.remote(spec, settings, str(out)): spec for spec in specs}
        results: dict[str, SequenceResult] = {}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                spec = pending.pop(done[0])
                try:
                    result = ray.get(done[0])
                except ray.exceptions.RayError as err:  # the task's process died or Ray lost it
                    result = SequenceResult(spec.name, "failed", error=f"ray: {type(err).__name__}: {err}"[:500])
                progress("start", spec.name, result.frames)
                progress("frames", spec.name, result.frames)
                results[spec.name] = result
                progress.finished(result)
        finally:
            if started_here:
                ray.shutdown()
        return [results[s.name] for s in specs]
