#!/usr/bin/env python3
"""The thread policy under sharing (issue 22, item 1): the default against fixed settings,
with a competing busy process, side by side in one run.

    PYTHONPATH=$PWD python3 benchmarks/thread_policy.py --weights golden --size 240
    PYTHONPATH=$PWD python3 benchmarks/thread_policy.py --weights mini
    ... --no-competitor        # without the busy process (the machine's own load only)

Each configuration is its own process, started with its own environment (OMP_WAIT_POLICY is
read when the OpenMP runtime loads, so it cannot change inside one process):

* `default`      - nothing set: what `xmem-demo segment` / `import xmem_demo` pick
                   (xmem_demo.threads.choose_threads("single"), printed);
* `1 thread`     - OMP_NUM_THREADS=1;
* `N passive`    - N = usable cores, OMP_WAIT_POLICY=PASSIVE;
* `N active`     - N threads, OMP_WAIT_POLICY=ACTIVE (spin at every barrier);
* `N omp-default`- N threads, OpenMP's own waiting (spin a while, then sleep): what torch did
                   before this policy.

One busy process (a Python loop, normal priority) competes for the cores during the whole
run. The configurations take turns (`--frames` frames each, `--rounds` times, rotating
order), one at a time, so all see the same background load; the table gives each one's
seconds per frame and its ratio to the best.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def worker(weights: str, size: int | None, frames: int) -> None:
    """One configuration: load, then for every line 'run' on stdin run `frames` frames and print seconds."""
    if os.environ.get("THREAD_POLICY_TORCH_FIRST"):
        import torch  # noqa: F401  (loads OpenMP before xmem_demo can choose its waiting: its own default)
    import xmem_demo  # noqa: F401  (prepares OpenMP's waiting before torch loads, as the CLI does)
    from xmem_demo.threads import apply_thread_policy, choose_threads

    policy = apply_thread_policy(choose_threads("single"))
    import torch

    sys.path.insert(0, str(REPO / "benchmarks"))
    from weights_spec import resolve_weights
    from xmem_demo import InferenceSession, MemoryConfig, load_model
    from xmem_demo.resources import EXAMPLE_CLIP, EXAMPLE_MASK
    from xmem_demo.video import open_video, read_index_mask

    if weights in ("mini", "lite", "auto"):
        from xmem_demo.weights import resolve_model

        model, _ = resolve_model(weights, allow_download=False)
    else:
        model = load_model(resolve_weights(weights)[0])
    with open_video(EXAMPLE_CLIP) as video:
        clip = [video.get(i) for i in range(min(len(video), 40))]
    mask = read_index_mask(EXAMPLE_MASK)
    session = InferenceSession(model.eval(), MemoryConfig(), working_size=size)
    with torch.inference_mode():
        session.step(clip[0], mask=mask)
        session.step(clip[1])  # warm-up: weight packing, allocations
    print(json.dumps({"ready": True, "threads": torch.get_num_threads(), "policy": policy.describe()}), flush=True)
    i = 2
    for line in sys.stdin:
        if line.strip() != "run":
            break
        start = time.perf_counter()
        with torch.inference_mode():
            for _ in range(frames):
                session.step(clip[i % len(clip)])
                i += 1
        print(json.dumps({"seconds": time.perf_counter() - start}), flush=True)


def busy_loop() -> None:
    while True:
        pass


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", default="golden", help="golden, mini, lite or a checkpoint path")
    p.add_argument("--size", type=int, default=None, help="working size (short side); default: the clip's own")
    p.add_argument("--frames", type=int, default=3, help="frames per turn")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--no-competitor", action="store_true")
    p.add_argument("--json", type=Path)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args.weights, args.size, args.frames)

    sys.path.insert(0, str(REPO))
    from xmem_demo.threads import usable_cores

    cores, how = usable_cores()
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS")}
    base["PYTHONPATH"] = str(REPO) + os.pathsep + base.get("PYTHONPATH", "")
    configs = {"default": {}, "1 thread": {"OMP_NUM_THREADS": "1"}}
    if cores > 1:
        n = str(cores)
        configs.update({f"{n} passive": {"OMP_NUM_THREADS": n, "OMP_WAIT_POLICY": "PASSIVE"},
                        f"{n} active": {"OMP_NUM_THREADS": n, "OMP_WAIT_POLICY": "ACTIVE"},
                        f"{n} omp-default": {"OMP_NUM_THREADS": n, "THREAD_POLICY_TORCH_FIRST": "1"}})
    cmd = [sys.executable, __file__, "--worker", "--weights", args.weights, "--frames", str(args.frames)]
    if args.size:
        cmd += ["--size", str(args.size)]
    procs, info = {}, {}
    for name, env in configs.items():  # load one at a time (no competition while loading)
        procs[name] = subprocess.Popen(cmd, env={**base, **env}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        info[name] = json.loads(procs[name].stdout.readline())
        print(f"{name:>14}: {info[name]['policy']}", flush=True)
    competitor = None
    if not args.no_competitor:
        competitor = subprocess.Popen([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(REPO / 'benchmarks')!r}); "
                                       "import thread_policy; thread_policy.busy_loop()"])
        time.sleep(1.0)
    load_before = os.getloadavg()[0]
    times: dict[str, list[float]] = {name: [] for name in configs}
    names = list(configs)
    try:
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[: r % len(names)]:
                procs[name].stdin.write("run\n")
                procs[name].stdin.flush()
                times[name].append(json.loads(procs[name].stdout.readline())["seconds"])
            print(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{n} {times[n][-1]:.2f}s" for n in names), flush=True)
    finally:
        if competitor is not None:
            competitor.kill()
            competitor.wait()
        for proc in procs.values():
            proc.stdin.close()
            proc.wait(timeout=60)
    load_after = os.getloadavg()[0]
    per_frame = {n: sum(t) / (len(t) * args.frames) for n, t in times.items()}
    median = {n: sorted(t)[len(t) // 2] / args.frames for n, t in times.items()}
    best, best_median = min(per_frame.values()), min(median.values())
    print(f"\nweights {args.weights}, size {args.size or 'clip'}, {cores} usable core(s) ({how}), "
          f"competitor {'off' if args.no_competitor else 'one busy process'}, load average {load_before:.1f} -> {load_after:.1f}")
    print(f"{'configuration':>14} | s/frame (all turns) | x best | median turn s/frame | x best | threads")
    for n in names:
        print(f"{n:>14} | {per_frame[n]:19.3f} | {per_frame[n] / best:6.2f} | {median[n]:18.3f} | "
              f"{median[n] / best_median:6.2f} | {info[n]['threads']}")
    result = {"weights": args.weights, "size": args.size, "cores": cores, "cores_how": how,
              "competitor": not args.no_competitor, "load_before": load_before, "load_after": load_after,
              "frames_per_turn": args.frames, "rounds": args.rounds,
              "configs": {n: {"seconds_per_frame": per_frame[n], "x_best": per_frame[n] / best, "turns_s": times[n],
                              "median_turn_seconds_per_frame": median[n], "median_x_best": median[n] / best_median,
                              "threads": info[n]["threads"], "policy": info[n]["policy"]} for n in names}}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
