"""Bounding the app's disk use: session folders that nobody will clean are swept on a schedule.

Gradio removes a visitor's `gr.State` (and our delete callback removes its folder) when the tab
closes or the session has been idle for SESSION_TTL_S. Two cases escape that: folders of an
earlier server process (killed, crashed, restarted) and sessions Gradio drops without calling
the callback (its session capacity). The janitor removes

* at start-up: the folders of server processes that no longer run;
* at start-up and every SWEEP_EVERY_S: files in Gradio's cache older than CACHE_MAX_AGE_S
  (Gradio only deletes what its own running process created: a killed server's uploads and
  frame images would stay forever);
* every SWEEP_EVERY_S: this process's session folders idle for more than
  SESSION_TTL_S + SWEEP_EVERY_S (a folder's "last use" is the newest mtime of the folder and
  the folders under it: every request touches the folder, a run adds masks to run-NNN/masks).

One janitor thread per server process (a daemon; it holds no visitor data).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

from ..portable import pid_alive
from .limits import CACHE_MAX_AGE_S, SESSION_TTL_S, SWEEP_EVERY_S
from .folders import cache_root, session_root, sessions_root


def last_used(folder: Path) -> float:
    """Newest mtime of the folder and the folders under it: writing a mask into run-NNN/masks/
    changes that folder's mtime, so a running job always looks used (files need no stat)."""
    times = [folder.stat().st_mtime]
    for sub, dirs, _files in os.walk(folder):
        for d in dirs:
            try:
                times.append(os.stat(os.path.join(sub, d)).st_mtime)
            except FileNotFoundError:
                continue
    return max(times)


def sweep_dead_processes(root: Path | None = None) -> list[Path]:
    """Remove the session folders of app processes that are gone."""
    root = sessions_root() if root is None else root
    removed = []
    if not root.is_dir():
        return removed
    for proc in root.glob("proc-*"):
        pid = proc.name.removeprefix("proc-")
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            shutil.rmtree(proc, ignore_errors=True)
            removed.append(proc)
    return removed


def sweep_idle_sessions(max_idle_s: float, root: Path | None = None, now: float | None = None) -> list[Path]:
    """Remove this process's session folders unused for more than max_idle_s seconds."""
    root = session_root() if root is None else root
    now = time.time() if now is None else now
    removed = []
    if not root.is_dir():
        return removed
    for folder in root.glob("session-*"):
        try:
            idle = now - last_used(folder)
        except FileNotFoundError:
            continue
        if idle > max_idle_s:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def sweep_old_cache_files(max_age_s: float, root: Path | None = None, now: float | None = None) -> int:
    """Remove files in Gradio's cache older than max_age_s (not our session folders, which have
    their own rules). Gradio's delete_cache only removes files its running process created, so
    uploads and frame images of a server that was killed would otherwise stay forever."""
    root = cache_root() if root is None else root
    now = time.time() if now is None else now
    removed = 0
    if not root.is_dir():
        return removed
    sessions = sessions_root() if root == cache_root() else root / sessions_root().name
    for path in root.rglob("*"):
        if sessions in path.parents or path == sessions or not path.is_file():
            continue
        try:
            if now - path.stat().st_mtime > max_age_s:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


class Janitor:
    """A daemon thread: sweeps dead processes' folders once, then idle sessions on a schedule."""

    def __init__(self, every_s: float = SWEEP_EVERY_S, max_idle_s: float = SESSION_TTL_S + SWEEP_EVERY_S) -> None:
        self.every_s = every_s
        self.max_idle_s = max_idle_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="xmem-demo-janitor", daemon=True)

    def start(self) -> "Janitor":
        sweep_dead_processes()
        sweep_old_cache_files(CACHE_MAX_AGE_S)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            sweep_idle_sessions(self.max_idle_s)
            sweep_old_cache_files(CACHE_MAX_AGE_S)

    def stop(self) -> None:
        self._stop.set()


_started: list[Janitor] = []  # at most one per process


def start_janitor() -> Janitor:
    """Start this process's janitor (idempotent)."""
    if not _started:
        _started.append(Janitor().start())
    return _started[0]
