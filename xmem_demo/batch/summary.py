"""One row per sequence: the result type, its markers on disk, and summary.csv / summary.json.

A finished sequence's row is written *last*, as `PRED/<seq>/.xmem-demo-done.json` (atomic):
its presence is what "finished" means, so a run that stops half-way through a sequence
leaves no marker and that sequence is redone next time. A sequence that failed leaves
`.xmem-demo-failed.json` instead (retried next time). The summary files are rebuilt from the
markers, so shards running at once on one shared folder (SLURM arrays, `--shard`) each add
their rows, and a last run without `--shard` finds every sequence done and writes the whole
summary.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from ..outdir import write_atomic

DONE_MARKER = ".xmem-demo-done.json"
FAILED_MARKER = ".xmem-demo-failed.json"
Status = Literal["done", "failed"]


@dataclass
class SequenceResult:
    """What happened to one sequence (a row of summary.csv)."""

    sequence: str
    status: Status
    frames: int = 0
    objects: int = 0
    seconds: float = 0.0  # segmentation only (the model is loaded once per worker, before)
    fps: float = 0.0
    peak_rss_mib: float = 0.0  # the worker's peak resident memory during this sequence
    peak_cuda_mib: float | None = None
    J: float | None = None  # with ground truth only (DAVIS train/val)
    F: float | None = None
    JF: float | None = None
    error: str = ""
    worker: str = ""  # host:pid that ran it
    device: str = ""
    precision: str = ""  # what ran ("auto" resolved on the worker's hardware)
    per_object: dict[str, dict[str, float]] = field(default_factory=dict)  # JSON only
    settings: dict[str, Any] = field(default_factory=dict)  # what produced it (JSON only)

    CSV_FIELDS = ("sequence", "status", "frames", "objects", "seconds", "fps", "peak_rss_mib", "peak_cuda_mib",
                  "J", "F", "JF", "error", "worker", "device", "precision")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SequenceResult":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# ---- markers ----------------------------------------------------------------------------------
def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(data, indent=1, allow_nan=False)))


def write_marker(seq_dir: Path, result: SequenceResult) -> None:
    """The done-marker (written last) or the failed-marker; the other one is removed."""
    name, other = (DONE_MARKER, FAILED_MARKER) if result.status == "done" else (FAILED_MARKER, DONE_MARKER)
    seq_dir.mkdir(parents=True, exist_ok=True)
    _write_json(seq_dir / name, result.to_json())
    (seq_dir / other).unlink(missing_ok=True)


def read_marker(seq_dir: Path) -> SequenceResult | None:
    """The sequence's result on disk (done first), or None; an unreadable marker counts as none."""
    for name in (DONE_MARKER, FAILED_MARKER):
        path = seq_dir / name
        if path.is_file():
            try:
                return SequenceResult.from_json(json.loads(path.read_text()))
            except (json.JSONDecodeError, TypeError, OSError):
                return None  # a torn or foreign file: the sequence is redone
    return None


def is_done(seq_dir: Path, settings: dict[str, Any]) -> bool:
    """Finished earlier with the same settings (other settings: redone, not mixed into one summary)."""
    result = read_marker(seq_dir)
    return result is not None and result.status == "done" and result.settings == settings


# ---- summary files ------------------------------------------------------------------------------
def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return round(value, 4) if isinstance(value, float) else value


def to_csv(results: list[SequenceResult]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SequenceResult.CSV_FIELDS)
    for r in results:
        writer.writerow([_cell(getattr(r, name)) for name in SequenceResult.CSV_FIELDS])
    return out.getvalue()


def overall(results: list[SequenceResult]) -> dict[str, Any]:
    """Totals; J&F averaged over every object of every scored sequence (the DAVIS global score)."""
    done = [r for r in results if r.status == "done"]
    objects = [o for r in done for o in r.per_object.values()]
    frames, seconds = sum(r.frames for r in done), sum(r.seconds for r in done)
    total: dict[str, Any] = {
        "sequences": len(results), "done": len(done), "failed": len(results) - len(done),
        "frames": frames, "fps_per_worker": round(frames / seconds, 2) if seconds else None,
    }
    if objects:
        j = sum(o["J"] for o in objects) / len(objects)
        f = sum(o["F"] for o in objects) / len(objects)
        total.update({"J": j, "F": f, "JF": (j + f) / 2, "objects_scored": len(objects)})
    return total


def collect(out: Path, names: list[str]) -> list[SequenceResult]:
    """The results on disk for `names` (those with a marker), in that order."""
    found = (read_marker(out / n) for n in names)
    return [r for r in found if r is not None]


def write_summary(out: Path, results: list[SequenceResult], run: dict[str, Any]) -> dict[str, Any]:
    """summary.csv (one row per sequence) and summary.json (the rows, per-object scores, totals)."""
    total = overall(results)
    write_atomic(out / "summary.csv", lambda tmp: tmp.write_text(to_csv(results)))
    _write_json(out / "summary.json", {"run": run, "overall": total, "sequences": [r.to_json() for r in results]})
    return total
