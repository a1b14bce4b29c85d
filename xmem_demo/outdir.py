"""One run owns its output folder: a lock, stale results cleared, files replaced atomically.

    with OutputDir(path) as out:      # refuses if another run holds the folder
        out.clear_previous()          # an earlier run's masks/overlay/summary go first
        out.write_json("summary.json", {...})

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
from .portable import read_at, try_lock_file, write_at

LOCK_NAME = ".xmem-demo.lock"
MASK_NAME = re.compile(r"^\d{5,}\.png$")
RESULT_FILES = ("overlay.mp4", "summary.json")


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
    def previous_results(self) -> list[Path]:
        """Files an earlier run left here (our names only; anything else is never touched)."""
        found = [p for p in self.masks.iterdir() if MASK_NAME.match(p.name)] if self.masks.is_dir() else []
        found += [self.path / n for n in RESULT_FILES if (self.path / n).exists()]
        found += [p for p in self.path.glob(".*.part*") if p.is_file()]
        found += [p for p in self.masks.glob(".*.part*") if p.is_file()] if self.masks.is_dir() else []
        return found

    def clear_previous(self) -> int:
        """Remove an earlier run's results; returns how many masks were removed."""
        old = self.previous_results()
        for p in old:
            p.unlink(missing_ok=True)
        return sum(1 for p in old if p.parent == self.masks and MASK_NAME.match(p.name))

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
