"""The app's disk stays bounded: one copy of each result, session folders removed on expiry for
every kind of client (here: direct HTTP API clients, which never send an 'unload'), and folders
nobody else cleans swept by the janitor."""

from __future__ import annotations

import datetime
import os
import time
from pathlib import Path

import pytest

from .app_fixtures import disc_centre, track_args

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client  # noqa: E402

from xmem_demo.app import janitor  # noqa: E402
from xmem_demo.app.folders import cache_root, session_dir_for, session_root  # noqa: E402


def _files_named(name: str) -> list[Path]:
    return [p for p in cache_root().rglob(name) if p.is_file()]


def _visit(url: str, weights: Path) -> Client:
    c = Client(url, verbose=False, download_files=False)  # the client keeps no copy in the same cache
    c.predict("tiny.mp4", api_name="/load_example")
    c.predict(*disc_centre(0), True, api_name="/click")
    c.predict(**track_args(weights), api_name="/track")
    return c


def test_results_once_and_api_sessions_expire(app_server, app_url, app_weights):
    started = time.time() - 1
    c = _visit(app_url, app_weights)
    folder = session_dir_for(c.session_hash)
    assert folder.is_dir() and folder.parent == session_root()
    mine = [p for p in _files_named("masks.zip") if folder in p.parents]
    assert len(mine) == 1
    # Gradio serves the results from the session folder: no copy of them anywhere in its cache.
    copies = [p for p in _files_named("*.zip") if p.stat().st_mtime >= started and folder not in p.parents]
    assert copies == [], copies

    # An API client never closes a tab. Make its session's last use older than the TTL: Gradio's
    # once-a-second expiry deletes the gr.State, whose callback removes the folder.
    session = app_server.state_holder.session_data[c.session_hash]
    for key, (ttl, _) in list(session._state_ttl.items()):
        session._state_ttl[key] = (ttl, datetime.datetime.now() - datetime.timedelta(seconds=ttl + 5))
    deadline = time.monotonic() + 10
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not folder.exists()


def test_janitor_sweeps_idle_sessions_and_dead_processes(tmp_path):
    root = tmp_path / "proc-1"
    idle, busy = root / "session-idle", root / "session-busy"
    for d in (idle, busy):
        (d / "run-001").mkdir(parents=True)
    old = time.time() - 7200
    os.utime(idle / "run-001", (old, old))
    os.utime(idle, (old, old))
    running = root / "session-running"  # its top folders are old, but masks are being written
    (running / "run-001" / "masks").mkdir(parents=True)
    for d in (running / "run-001", running):
        os.utime(d, (old, old))
    removed = janitor.sweep_idle_sessions(3600, root=root)
    assert removed == [idle] and busy.is_dir() and running.is_dir()

    dead = tmp_path / "proc-999999999"  # no such process
    alive = tmp_path / f"proc-{os.getpid()}"
    for d in (dead, alive):
        (d / "session-x").mkdir(parents=True)
    assert janitor.sweep_dead_processes(root=tmp_path) == [dead]
    assert alive.is_dir()


def test_unload_or_expiry_never_removes_a_folder_a_run_is_writing(tmp_path):
    from xmem_demo.app.folders import remove_session_dir

    folder = tmp_path / "session-x"
    (folder / "run-001" / "masks").mkdir(parents=True)  # a run in progress (masks not zipped yet)
    remove_session_dir(folder)
    assert folder.is_dir()
    (folder / "run-001" / "masks").rmdir()  # the run finished: masks.zip is the one copy
    remove_session_dir(folder)
    assert not folder.exists()


def test_janitor_sweeps_old_gradio_cache_files_but_not_sessions(tmp_path):
    old = time.time() - 3 * 3600
    upload = tmp_path / "abc123" / "clip.mp4"  # left by a killed server
    fresh = tmp_path / "def456" / "frame.webp"
    session = tmp_path / "xmem-demo-sessions" / "proc-1" / "session-a" / "masks.zip"
    for p in (upload, fresh, session):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    os.utime(upload, (old, old))
    os.utime(session, (old, old))
    assert janitor.sweep_old_cache_files(7200, root=tmp_path) == 1
    assert not upload.exists() and fresh.exists() and session.exists()
