"""`segment-many` from start to end: list, choose, skip what is done, run, summarise.

    request = BatchRequest(root=Path("DAVIS/2017/trainval"), out=Path("pred"))
    report = segment_many(request, RunSettings(weights="mini", size=480), lambda todo: LocalEngine(plan))

The command line only parses arguments into these types and calls `segment_many`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import InputError
from .datasets import Layout, SequenceSpec, list_sequences, select, shard
from .engines import Engine
from .progress import ProgressBars
from .runner import RunSettings
from .summary import SequenceResult, collect, is_done, write_summary


@dataclass(frozen=True)
class BatchRequest:
    """Which sequences of which dataset, written where."""

    root: Path
    out: Path
    layout: Layout | str = "auto"
    sequences: list[str] | None = None  # only these (e.g. a DAVIS ImageSets list)
    shard: tuple[int, int] | None = None  # (i, n): every n-th sequence from i
    redo: bool = False  # segment finished sequences again
    show_progress: bool = True


@dataclass
class BatchReport:
    layout: str
    selected: list[str]  # this run's share of the dataset (after --sequences and --shard)
    skipped: list[str]  # finished earlier with the same settings
    results: list[SequenceResult]  # what this run did
    overall: dict[str, Any] = field(default_factory=dict)  # summary.json's totals (every sequence on disk)

    @property
    def failed(self) -> list[SequenceResult]:
        return [r for r in self.results if r.status != "done"]


def _check_out(out: Path, specs: list[SequenceSpec]) -> None:
    """Never write predictions over the dataset's own masks (a sequence folder is cleared first)."""
    taken = {p.parent.resolve() for s in specs for p in s.annotations}
    taken |= {s.ground_truth.resolve() for s in specs if s.ground_truth is not None}
    for s in specs:
        if (out / s.name).resolve() in taken:
            raise InputError(f"--out '{out}' would write over the dataset's annotations ('{out / s.name}'); "
                             "choose another folder")


def segment_many(
    request: BatchRequest, settings: RunSettings, engine_for: Callable[[int], Engine], echo: Callable[[str], None] = print,
) -> BatchReport:
    layout, everything = list_sequences(request.root, request.layout)  # type: ignore[arg-type]
    everything = select(everything, request.sequences)
    _check_out(request.out, everything)
    chosen = shard(everything, *request.shard) if request.shard else everything
    wanted = settings.output_settings()
    skipped = [] if request.redo else [s.name for s in chosen if is_done(request.out / s.name, wanted)]
    todo = [s for s in chosen if s.name not in set(skipped)]
    share = f", shard {request.shard[0]}/{request.shard[1]}: {len(chosen)}" if request.shard else ""
    echo(f"{len(everything)} sequences ({layout} layout{share}); {len(skipped)} already done, {len(todo)} to segment")
    results: list[SequenceResult] = []
    engine = engine_for(len(todo))
    run = {"root": str(request.root), "layout": layout, "settings": wanted, "engine": engine.describe()}
    try:
        if todo:
            echo(engine.describe())
            request.out.mkdir(parents=True, exist_ok=True)
            bars = ProgressBars(len(todo), enabled=request.show_progress)
            try:
                results = engine.run(todo, settings, request.out, bars)
            finally:
                bars.close()
    finally:
        # Also when stopped (Ctrl-C, SIGTERM): the summary covers every sequence of the dataset
        # finished so far, all shards' rows included.
        on_disk = collect(request.out, [s.name for s in everything])
        overall = write_summary(request.out, on_disk, run) if request.out.is_dir() else {}
    return BatchReport(layout, [s.name for s in chosen], skipped, results, overall)
