"""One run owns its output folder: a lock, stale results cleared, files replaced atomically.

    with OutputDir(path) as out:      # refuses if another run holds the folder
        out.clear_previous()          # an earlier run's masks/overlay/summary go first
        out.claim(num_frames)         # the manifest: what this run may write, before it writes
        out.write_json("summary.json", {...})

Only files this tool wrote are ever removed. Before its first write a run records, in
`OUT/.xmem-demo-manifest.json`, the names it may create (masks/00000.png .. masks/NNNNN.png,
overlay.mp4, summary.json); the next run's sweep deletes only files that manifest lists. A
file with one of our names that no manifest lists (the user's own frames, an older version's
results, anything copied in) is never deleted: the run is refused before any work, naming it.

The lock is an OS file lock on `OUT/.xmem-demo.lock` (`fcntl.flock`, or `msvcrt.locking` on
Windows: portable.try_lock_file): the OS drops it when the process ends in any way (even
SIGKILL), so a crashed run never blocks the next one. Every file is
written under a temporary name in the same folder and renamed into place, so a reader (or an
interrupted run) only ever sees complete files.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path
from typing import Any, Callable

from .errors import InputError
from .portable import pid_alive, read_at, try_lock_file, write_at

LOCK_NAME = ".xmem-demo.lock"
MANIFEST_NAME = ".xmem-demo-manifest.json"
MASK_NAME = re.compile(r"^\d{5,}\.png$")
RESULT_FILES = ("overlay.mp4", "summary.json", "memory_trace.csv", "memory_trace.json")
PART_NAME = re.compile(r"^\..+\.part(\d+)(\.\w+)?$")  # part_name(): .NAME.partPID.SUFFIX



class OutputDir:
    """Exclusive use of a results folder for the lifetime of one run."""

    def __init__(self, path: str | Path, masks_subdir: str = "masks") -> None:
        """masks_subdir: where the masks go ("" = the folder itself, as one sequence of a
        dataset's predictions, `PRED/<seq>/00000.png`)."""
        self.path = Path(path)
        self.masks = self.path / masks_subdir if masks_subdir else self.path
        self._fd: int | None = None

    # ---- ownership --------------------------------------------------------------------------
    def acquire(self) -> "OutputDir":
        self.masks.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        locked = try_lock_file(fd)
        if locked is False:
            owner = read_at(fd, 64, 0).decode(errors="replace").strip("\0 \n") or "?"
            os.close(fd)
            raise InputError(
                f"--out '{self.path}' is in use by another xmem-demo run (pid {owner}); "
                "wait for it to finish or choose another --out"
            )
        if locked is None:
            warnings.warn(f"this platform has no file lock: nothing stops a second run from writing into '{self.path}'",
                          stacklevel=2)
        os.ftruncate(fd, 0)
        write_at(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock; the empty lock file stays (harmless)
            self._fd = None

    def __enter__(self) -> "OutputDir":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    # ---- stale results ----------------------------------------------------------------------
    def manifest(self) -> set[Path]:
        """Files an earlier run of this tool recorded as its own (that may exist now)."""
        path = self.path / MANIFEST_NAME
        try:
            data = json.loads(path.read_text())
            files = {self.path / str(name) for name in data.get("files", [])}
            files |= {self.masks / str(name) for name in data.get("mask_files", [])}
            masks = data.get("masks", {})
            first, count = int(masks.get("first", 0)), int(masks.get("count", 0))
        except FileNotFoundError:
            return set()
        except (OSError, ValueError, TypeError, AttributeError):
            return set()  # unreadable: nothing counts as ours, so nothing is deleted
        files |= {self.masks / f"{i:05d}.png" for i in range(first, first + count)}
        return files

    def _candidates(self) -> list[Path]:
        """Files here with the names a run writes (ours or not)."""
        found = [p for p in self.masks.iterdir() if MASK_NAME.match(p.name)] if self.masks.is_dir() else []
        return found + [self.path / n for n in RESULT_FILES if (self.path / n).exists()]

    def _orphan_parts(self) -> list[Path]:
        """Temporary files of runs that died (SIGKILL) mid-write: ours by their exact name and pid."""
        out = []
        for folder in (self.path, self.masks):
            if not folder.is_dir():
                continue
            for p in folder.iterdir():
                m = PART_NAME.match(p.name)
                if m and p.is_file() and int(m.group(1)) != os.getpid() and not pid_alive(int(m.group(1))):
                    out.append(p)
        return out

    def foreign_results(self) -> list[Path]:
        """Files with our result names that no manifest of this tool lists: never deleted."""
        ours = self.manifest()
        return [p for p in self._candidates() if p not in ours]

    def check_foreign(self, what: str = "--out") -> None:
        """Refuse a folder holding files with our names that this tool did not write."""
        foreign = self.foreign_results()
        if foreign:
            shown = ", ".join(str(p.relative_to(self.path)) for p in sorted(foreign)[:3])
            more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
            raise InputError(
                f"{what} '{self.path}' holds {shown}{more}, which xmem-demo did not write (no run recorded them); "
                "a run would replace them, so nothing was started: choose an empty or new folder, or move those files"
            )

    def previous_results(self) -> list[Path]:
        """Files an earlier run left here: those its manifest lists, and its orphaned temporaries."""
        ours = self.manifest()
        return [p for p in self._candidates() if p in ours] + self._orphan_parts()

    def clear_previous(self) -> int:
        """Remove an earlier run's results (only files it recorded as its own); returns how many
        masks were removed. Raises InputError, deleting nothing, if a file with our names was
        not written by this tool."""
        self.check_foreign()
        old = self.previous_results()
        for p in old:
            p.unlink(missing_ok=True)
        (self.path / MANIFEST_NAME).unlink(missing_ok=True)
        return sum(1 for p in old if p.parent == self.masks and MASK_NAME.match(p.name))

    def claim(self, num_masks: int, files: tuple[str, ...] = RESULT_FILES, mask_names: tuple[str, ...] = ()) -> None:
        """Record, before the first write, every name this run may create (the manifest):
        masks 00000.png .. (num_masks - 1), or the explicit `mask_names`, and `files`."""
        data = {"tool": "xmem-demo", "pid": os.getpid(), "files": list(files),
                "masks": {"first": 0, "count": int(num_masks)}, "mask_files": [str(n) for n in mask_names]}
        write_atomic(self.path / MANIFEST_NAME, lambda p: p.write_text(json.dumps(data)))

    # ---- atomic writes ----------------------------------------------------------------------
    def write_atomic(self, target: Path, write: Callable[[Path], None]) -> Path:
        return write_atomic(target, write)

    def write_json(self, name: str, data: dict[str, Any]) -> Path:
        return write_atomic(self.path / name, lambda p: p.write_text(json.dumps(data, indent=1)))


def part_name(target: Path) -> Path:
    """A temporary name next to `target`, unique per process (two runs never share one)."""
    return target.with_name(f".{target.name}.part{os.getpid()}{target.suffix}")


def write_atomic(target: str | Path, write: Callable[[Path], None]) -> Path:
    """write(tmp) then rename tmp -> target; the temporary file is removed on any failure."""
    target = Path(target)
    tmp = part_name(target)
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
