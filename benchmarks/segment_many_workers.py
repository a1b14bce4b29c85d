"""`segment-many` with 1 worker and with N workers, side by side in one run, on a set of small clips.

    python3 benchmarks/segment_many_workers.py [--sequences 16 --frames 30 --size 120x160 --workers 2 --rounds 2]

Writes a synthetic DAVIS-layout dataset (xmem_demo.batch.synthetic_dataset), then runs the
whole command (`python -m xmem_demo.cli segment-many`, start-up and model loading included:
what a user waits for) with `--workers 1` and `--workers N` (1 thread each), alternating
(1, N, N, 1, ...) so that both see the same background load; checks that every run wrote
the same masks; reports each run's wall time, the median ratio N/1 and the load average
(1-minute, from os.getloadavg) before and after each run. Results: benchmarks/results/
segment_many_workers.json.

The machine's own ceiling is measured in the same run: a pure-Python CPU loop in 1 process,
then in N processes at once (`spin_control`: N-process wall time / 1-process wall time). With
N free cores it is about 1.0 (each loop keeps its own core, so N loops take as long as one,
and N workers could finish in 1/N of the time); when other jobs leave this run about one
core's worth in all, it approaches N, and no number of workers can beat one worker. Read the
workers' ratio next to it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from xmem_demo.batch.synthetic_dataset import write_davis  # noqa: E402


def masks_digest(pred: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(pred.glob("*/*.png")):
        h.update(p.relative_to(pred).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


SPIN = "import time\nt = time.perf_counter()\nx = 0\nfor i in range(20_000_000): x += i\nprint(time.perf_counter() - t)"


def spin(processes: int) -> float:
    """Wall time of `processes` pure-CPU loops started together (the slowest one)."""
    procs = [subprocess.Popen([sys.executable, "-c", SPIN], stdout=subprocess.PIPE, text=True) for _ in range(processes)]
    return max(float(p.communicate()[0]) for p in procs)


def run_once(root: Path, out: Path, workers: int, weights: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1", "XMEM_DEMO_OFFLINE": os.environ.get("XMEM_DEMO_OFFLINE", "1")}
    argv = [sys.executable, "-m", "xmem_demo.cli", "segment-many", str(root), "--out", str(out), "--weights", weights,
            "--size", "-1", "--precision", "fp32", "--workers", str(workers), "--threads", "1", "--no-progress"]
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"segment-many failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    summary = json.loads((out / "summary.json").read_text())
    return {"workers": workers, "seconds": round(seconds, 2), "frames": summary["overall"]["frames"],
            "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2),
            "masks_sha256": masks_digest(out)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sequences", type=int, default=16)
    p.add_argument("--frames", type=int, default=30)
    p.add_argument("--size", default="120x160", help="HEIGHTxWIDTH of the clips")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2, help="pairs of runs (1 then N, N then 1, ...)")
    p.add_argument("--weights", default="mini")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "segment_many_workers.json"))
    args = p.parse_args(argv)
    height, width = (int(v) for v in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "dataset"
        write_davis(root, args.sequences, args.frames, height, width)
        runs, spins = [], []
        for r in range(args.rounds):
            one, many = spin(1), spin(args.workers)
            spins.append({"one": round(one, 2), "many": round(many, 2), "ratio": round(many / one, 3)})
            print(f"round {r}: CPU loop alone {one:.1f} s, {args.workers} at once {many:.1f} s "
                  f"(ratio {many / one:.2f}; 1.0 = a free core each)", flush=True)
            order = (1, args.workers) if r % 2 == 0 else (args.workers, 1)
            for workers in order:
                run = run_once(root, Path(tmp) / f"pred-{r}-{workers}", workers, args.weights)
                runs.append(run)
                print(f"round {r}: {workers} worker(s): {run['seconds']:.1f} s for {run['frames']} frames "
                      f"(load average {run['load_before']} -> {run['load_after']})", flush=True)
    same = len({run["masks_sha256"] for run in runs}) == 1
    one = statistics.median(run["seconds"] for run in runs if run["workers"] == 1)
    many = statistics.median(run["seconds"] for run in runs if run["workers"] == args.workers)
    ratios = [b["seconds"] / a["seconds"] for a, b in zip(runs[::2], runs[1::2])]
    ratios = [x if runs[2 * i]["workers"] == 1 else 1 / x for i, x in enumerate(ratios)]
    result = {
        "command": "python3 benchmarks/segment_many_workers.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "dataset": {"sequences": args.sequences, "frames": args.frames, "size": [height, width], "weights": args.weights},
        "cpu_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "runs": runs,
        "median_seconds": {"1": one, str(args.workers): many},
        "ratio_per_round": [round(x, 3) for x in ratios],
        "ratio_median_seconds": round(many / one, 3),
        "same_masks_in_every_run": same,
        "spin_control": spins,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"{args.workers} workers / 1 worker: {many:.1f} s / {one:.1f} s = {many / one:.2f} (per round: "
          f"{', '.join(f'{x:.2f}' for x in ratios)}); CPU-loop control per round: "
          f"{', '.join(str(x['ratio']) for x in spins)}; same masks in every run: {same} -> {args.out}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
