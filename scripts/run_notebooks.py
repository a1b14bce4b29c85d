#!/usr/bin/env python3
"""Re-execute the teaching notebooks in place, so that the committed notebooks carry outputs.

    python scripts/run_notebooks.py                  # all of notebooks/*.ipynb
    python scripts/run_notebooks.py notebooks/04_long_term_memory.ipynb
    python scripts/run_notebooks.py --dry-run        # execute, report times, write nothing
    python scripts/run_notebooks.py --quick          # what CI runs (shorter long runs), write nothing

Each notebook runs top to bottom in a fresh `python3` kernel started in notebooks/ (as
JupyterLab does), with XMEM_DEMO_OFFLINE=1 unless --online (no download is attempted, so
`resolve_model("auto")` falls back to the bundled mini model unless official weights are
cached). A notebook that fails is reported and left unchanged.
"""

from __future__ import annotations

import argparse
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    p.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    p.add_argument("--dry-run", action="store_true", help="execute and report, but do not write")
    p.add_argument("--online", action="store_true", help="allow downloading official weights")
    p.add_argument("--weights", help="run with these weights instead of WEIGHTS = 'auto' (implies --dry-run)")
    p.add_argument("--quick", action="store_true",
                   help="the test suite's shorter runs (XMEM_NOTEBOOK_QUICK=1; implies --dry-run)")
    args = p.parse_args(argv)
    # Committed outputs come from the full runs; --quick times what CI runs.
    if args.quick:
        os.environ["XMEM_NOTEBOOK_QUICK"] = "1"
    else:
        os.environ.pop("XMEM_NOTEBOOK_QUICK", None)

    if not args.online:
        os.environ["XMEM_DEMO_OFFLINE"] = "1"  # inherited by the kernels
    paths = args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb"))
    write = not (args.dry_run or args.weights or args.quick)
    failed = []
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
        print(f"{path.name}: {elapsed:6.1f} s{'' if write else ' (not written)'}", flush=True)
    if failed:
        print("failed:", ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
