"""How many CPU threads a frame uses, and how idle OpenMP threads wait (issue 22).

A frame is a chain of large operators (convolutions, matrix products), each split over the
intra-op threads (OpenMP, through PyTorch and oneDNN). After every operator the threads meet
at a barrier. OpenMP's default is to *spin* there (busy-wait) before sleeping: fastest on
cores nobody else wants, and a collapse on shared ones. On a 2-core machine with one other
busy process, two spinning threads ran 2.35x slower than one thread (the mini model at its own
size; 20x slower at a load average of 2.5), because the spinning thread takes the core that
the last thread of the barrier needs. With `OMP_WAIT_POLICY=PASSIVE` (sleep at once) the
same two threads ran as fast as one (benchmarks/thread_policy.py measures it here).

The policy (`choose_threads`):

* **cores**: the CPUs this process may run on (`os.sched_getaffinity`), capped by a cgroup
  CPU quota (containers, Spaces: `cpu.max` / `cpu.cfs_quota_us`), not the host's count
  that PyTorch's default uses;
* **threads**: the cores divided among the jobs that run at once in this process: one for
  the CLI and notebooks; the app's tracking runs (`MAX_CONCURRENT_RUNS`) and the live tab
  share the cores, so each gets cores // jobs (at least 1);
* **waiting**: PASSIVE, unless the user set `OMP_WAIT_POLICY` or every thread has a core of
  its own that nothing else uses (one thread: nothing waits, the setting is moot).
  The live tab wants low latency, and on a shared machine that is *passive* waiting too: a
  spinning team loses whole scheduler time slices.

`OMP_WAIT_POLICY` is read once, when the OpenMP runtime starts (when torch is imported), so
`prepare_openmp()` sets it in the environment before that: the CLI (`cli.py`), the app
(`app.py`, `serve.py`) and `import xmem_demo` call it before importing torch. If torch was
imported first (a notebook that starts with `import torch`), the runtime spins as it likes
and the policy says so; the thread count is then the only lever, so with other load on the
machine at that moment it takes 1 thread.

This module imports nothing heavy: it runs before torch is loaded.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Use = Literal["single", "app", "live"]

# what prepare_openmp() did to the environment: None = not called, else (variable, value, set by us?)
_PREPARED: dict[str, tuple[str, bool]] = {}


def prepare_openmp(environ: dict | None = None) -> None:
    """Set OMP_WAIT_POLICY=PASSIVE in the environment unless the user chose one; only useful
    before torch (and with it the OpenMP runtime) is loaded. Idempotent."""
    env = os.environ if environ is None else environ
    if "OMP_WAIT_POLICY" in env:
        _PREPARED.setdefault("OMP_WAIT_POLICY", (env["OMP_WAIT_POLICY"].upper(), False))
        return
    if "torch" in sys.modules:
        return  # too late: the runtime has read its settings (see effective_wait_policy)
    env["OMP_WAIT_POLICY"] = "PASSIVE"
    _PREPARED["OMP_WAIT_POLICY"] = ("PASSIVE", True)


def effective_wait_policy() -> tuple[str, str]:
    """(policy, where it comes from) for the running OpenMP runtime: PASSIVE / ACTIVE / default."""
    if "OMP_WAIT_POLICY" in _PREPARED:
        value, ours = _PREPARED["OMP_WAIT_POLICY"]
        return value, ("set by xmem-demo before torch loaded" if ours else "OMP_WAIT_POLICY from the environment")
    value = os.environ.get("OMP_WAIT_POLICY")
    if value and "torch" not in sys.modules:
        return value.upper(), "OMP_WAIT_POLICY from the environment"
    if value:
        # set after torch was imported by someone else: we cannot tell whether the runtime saw it
        return "unknown", f"OMP_WAIT_POLICY={value} set, but perhaps after torch loaded"
    return "default", "OpenMP's default (spin, then sleep): torch was loaded before xmem_demo could set it"


def _cgroup_cpu_limit(root: Path = Path("/sys/fs/cgroup"), proc_cgroup: Path = Path("/proc/self/cgroup")) -> float | None:
    """The cgroup CPU quota in cores (v2 cpu.max, v1 cfs_quota/cfs_period), None if unlimited or unreadable."""
    rel = {}
    try:
        for line in proc_cgroup.read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for c in controllers.split(",") or [""]:
                rel[c] = path.lstrip("/")
    except (OSError, ValueError):
        pass
    candidates = []
    v2 = rel.get("", "")
    candidates += [("v2", root / v2 / "cpu.max"), ("v2", root / "cpu.max")]
    v1 = rel.get("cpu", "")
    for d in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        candidates += [("v1", root / d / v1), ("v1", root / d)]
    for kind, path in candidates:
        try:
            if kind == "v2":
                quota, period = path.read_text().split()[:2]
                if quota == "max":
                    return None
                return int(quota) / int(period)
            quota = int((path / "cpu.cfs_quota_us").read_text())
            period = int((path / "cpu.cfs_period_us").read_text())
            return None if quota <= 0 else quota / period
        except (OSError, ValueError):
            continue
    return None


def usable_cores() -> tuple[int, str]:
    """(cores this process may use, how that was found)."""
    if hasattr(os, "sched_getaffinity"):
        cores, how = len(os.sched_getaffinity(0)), "CPU affinity"
    else:
        cores, how = os.cpu_count() or 1, "os.cpu_count"
    quota = _cgroup_cpu_limit()
    if quota is not None and math.ceil(quota - 1e-6) < cores:
        cores, how = max(1, math.ceil(quota - 1e-6)), f"cgroup CPU quota {quota:g}"
    return cores, how


def _load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


@dataclass(frozen=True)
class ThreadPolicy:
    """Intra-op threads for this process and how idle OpenMP threads wait, with the reason."""

    threads: int
    wait_policy: str  # PASSIVE, ACTIVE, default (OpenMP's own: spin then sleep) or unknown
    cores: int
    reason: str

    def describe(self) -> str:
        return f"{self.threads} thread(s), OpenMP waiting {self.wait_policy}: {self.reason}"


def choose_threads(use: Use = "single", jobs: int = 1, *, cores: int | None = None,
                   environ: dict | None = None, load: float | None = None) -> ThreadPolicy:
    """The thread policy for `use` with `jobs` runs at once in this process (see the module doc).

    cores / environ / load: for tests (default: measured, os.environ, the 1-minute load average).
    """
    env = os.environ if environ is None else environ
    if use not in ("single", "app", "live"):
        raise ValueError(f"use must be 'single', 'app' or 'live', got {use!r}")
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    if cores is None:
        cores, how = usable_cores()
    else:
        how = "given"
    if environ is None:
        wait, wait_why = effective_wait_policy()
    else:
        wait = env.get("OMP_WAIT_POLICY", "default").upper()
        wait_why = "OMP_WAIT_POLICY" if "OMP_WAIT_POLICY" in env else "OpenMP's default"
    user = env.get("OMP_NUM_THREADS", "").strip()
    if user.isdigit() and int(user) > 0:
        return ThreadPolicy(int(user), wait, cores, f"OMP_NUM_THREADS={user} set by the user; {cores} core(s) usable ({how}); "
                                                  f"waiting: {wait_why}")
    share = max(1, cores // jobs)
    who = {"single": "one job", "app": f"{jobs} runs at once share them", "live": f"{jobs} job(s), low latency"}[use]
    reason = f"{cores} core(s) usable ({how}), {who}"
    if wait not in ("PASSIVE", "ACTIVE") and share > 1:
        # Spinning threads on shared cores collapse (see the module doc); we cannot switch the
        # spinning off now, so use one thread when anything else is running.
        load = _load_average() if load is None else load
        if load is not None and load >= 0.5:
            return ThreadPolicy(1, wait, cores, f"{reason}; 1 thread because OpenMP spins ({wait_why}) and the "
                                                f"machine is busy (load {load:.1f})")
    return ThreadPolicy(share, wait, cores, f"{reason}; waiting: {wait_why}")


_APPLIED: list[ThreadPolicy] = []  # the policy an entry point applied in this process


def apply_thread_policy(policy: ThreadPolicy) -> ThreadPolicy:
    """torch.set_num_threads(policy.threads) (every later torch thread takes it; call it before
    starting worker threads). Returns the policy."""
    import torch

    if torch.get_num_threads() != policy.threads:
        torch.set_num_threads(policy.threads)
    _APPLIED[:] = [policy]
    return policy


def default_thread_policy() -> ThreadPolicy | None:
    """For library use (notebooks, scripts) where no entry point chose threads: the first
    InferenceSession calls this. It only ever *lowers* torch's thread count (torch's default
    is the host's physical cores, more than a cgroup quota or CPU affinity may allow, and
    spinning OpenMP threads on a busy machine collapse), never overrides OMP_NUM_THREADS or
    an earlier policy, and runs once per process. Returns the policy applied, if any."""
    if _APPLIED or os.environ.get("OMP_NUM_THREADS", "").strip():
        return None
    import torch

    policy = choose_threads("single")
    _APPLIED[:] = [policy]
    if policy.threads < torch.get_num_threads():
        torch.set_num_threads(policy.threads)
        return policy
    return None


__all__ = ["ThreadPolicy", "apply_thread_policy", "choose_threads", "default_thread_policy", "effective_wait_policy",
           "prepare_openmp", "usable_cores"]
