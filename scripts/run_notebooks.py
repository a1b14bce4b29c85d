#!/usr/bin/env python3
"""Re-execute the teaching notebooks in place, so that the committed notebooks carry outputs.

    python scripts/run_notebooks.py                  # all of notebooks/*.ipynb
    python scripts/run_notebooks.py notebooks/04_long_term_memory.ipynb
    python scripts/run_notebooks.py --dry-run        # execute, report times, write nothing
    python scripts/run_notebooks.py --mode full      # the long runs (each notebook's banner says what they are)
    python scripts/run_notebooks.py --dry-run --busy-core   # time class mode (what CI runs) with one core kept busy

Each notebook runs top to bottom in a fresh `python3` kernel started in notebooks/ (as
JupyterLab does), with XMEM_DEMO_OFFLINE=1 unless --online (no download is attempted, so
`resolve_model("auto")` falls back to the bundled offline model unless official weights are
cached). Each notebook's MODE cell is overridden by --mode through XMEM_NOTEBOOK_MODE (its
banner says so). --busy-core keeps one core busy with another process meanwhile, as on a
shared machine (a lab server, Colab, a Space). A notebook that fails is reported and left
unchanged.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"


def execute(path: Path, timeout: int = 600, weights: str | None = None) -> tuple[nbformat.NotebookNode, float]:
    """Run a notebook; returns it with outputs, and the wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    originals = {}
    if weights is not None:  # try other weights without editing the files
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and 'WEIGHTS = "auto"' in cell.source:
                originals[i] = cell.source
                cell.source = cell.source.replace('WEIGHTS = "auto"', f"WEIGHTS = {weights!r}")
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
    )
    started = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - started
    for i, source in originals.items():
        nb.cells[i].source = source
    # The static fallback under each interactive cell carries the figure; the widgets' saved
    # state (a copy of every figure they drew) would only make the committed file larger.
    nb.metadata.pop("widgets", None)
    return nb, elapsed


def _spin(stop) -> None:  # the competing process of --busy-core
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    p.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    p.add_argument("--dry-run", action="store_true", help="execute and report, but do not write")
    p.add_argument("--online", action="store_true", help="allow downloading official weights")
    p.add_argument("--weights", help="run with these weights instead of WEIGHTS = 'auto' (implies --dry-run)")
    p.add_argument("--mode", choices=("class", "full"), default="class",
                   help="class (the default; what the test suite runs) or full (the long runs)")
    p.add_argument("--busy-core", action="store_true", help="keep one core busy with another process meanwhile")
    p.add_argument("--quick", action="store_true", help="old name of --mode class --dry-run")
    args = p.parse_args(argv)
    if args.quick:
        args.mode, args.dry_run = "class", True
    os.environ["XMEM_NOTEBOOK_MODE"] = args.mode  # inherited by the kernels
    os.environ.pop("XMEM_NOTEBOOK_QUICK", None)

    if not args.online:
        os.environ["XMEM_DEMO_OFFLINE"] = "1"  # inherited by the kernels
    paths = args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb"))
    write = not (args.dry_run or args.weights)
    failed = []
    stop = busy = None
    if args.busy_core:
        stop = multiprocessing.Event()
        busy = multiprocessing.Process(target=_spin, args=(stop,), daemon=True)
        busy.start()
        print(f"one core kept busy by process {busy.pid}; load average {os.getloadavg()[0]:.1f}", flush=True)
    total = 0.0
    for path in paths:
        path = path.resolve()
        try:
            nb, elapsed = execute(path, args.timeout, args.weights)
        except CellExecutionError as err:
            print(f"{path.name}: FAILED", flush=True)
            print(str(err)[-3000:], file=sys.stderr)
            failed.append(path.name)
            continue
        if write:
            nbformat.write(nb, path)
        # One line per notebook, printed when it is done (kernels write their own start-up noise).
        total += elapsed
        print(f"{path.name}: {elapsed:6.1f} s ({args.mode} mode){'' if write else ' (not written)'}", flush=True)
    if busy is not None:
        stop.set()
        busy.join(5)
    print(f"total: {total:.0f} s; load average at the end {os.getloadavg()[0]:.1f}", flush=True)
    if failed:
        print("failed:", ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
