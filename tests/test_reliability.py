"""Nothing lost, nothing mixed: one run owns its --out, stale results go, interruptions leave
complete files and a summary saying where the run stopped; downloads leave no .part behind.

One real second process (the CLI as a user starts it) holds the --out while this process tries
to use it; signals (SIGSTOP/SIGCONT/SIGTERM) make the timing deterministic.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from xmem_demo import weights
from xmem_demo.video import read_index_mask, write_index_mask
from xmem_demo.weights import WeightsError

from .support import (H, W, QuietHandler, Segment, run_cli, save_tiny_checkpoint, square_frames, square_mask,
                      wait_until, weights_host, write_clip)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("rel")
    write_clip(root / "long.mp4", square_frames(150, step=1))
    write_clip(root / "short.mp4", square_frames(5, step=1))
    write_index_mask(root / "mask.png", square_mask())
    save_tiny_checkpoint(root / "tiny.pth")
    return root



def _lock_owner(out: Path) -> str:
    try:
        return (out / ".xmem-demo.lock").read_text().strip()
    except FileNotFoundError:
        return ""


def test_two_runs_one_out_then_sigterm_then_rerun(inputs, tmp_path, capsys):
    out = tmp_path / "shared"
    probs = tmp_path / "p.npz"
    probs.write_bytes(b"an earlier run's file")  # must survive an interrupted run untouched
    cmd = [sys.executable, "-m", "xmem_demo.cli",
           *Segment(video="long.mp4", out=str(out), extra=("--size", "-1", "--save-probs", str(probs))).argv(inputs)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    a = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: _lock_owner(out) == str(a.pid) or a.poll() is not None, 240, "run A to take --out")
        assert a.poll() is None, a.communicate()
        os.kill(a.pid, signal.SIGSTOP)  # A holds the folder, frozen: B must be refused now
        try:
            run = run_cli(Segment(video="short.mp4", out=str(out)).argv(inputs), capsys)
            assert run.code == 2 and f"in use by another xmem-demo run (pid {a.pid})" in run.err, run.err
        finally:
            os.kill(a.pid, signal.SIGCONT)
        wait_until(lambda: len(list((out / "masks").glob("[0-9]*.png"))) >= 3 or a.poll() is not None, 240, "A's first masks")
        assert a.poll() is None, "run A finished before it could be interrupted"
        a.send_signal(signal.SIGTERM)
        _, stderr = a.communicate(timeout=120)
    finally:
        if a.poll() is None:
            a.kill()
    assert a.returncode == 128 + signal.SIGTERM, stderr
    assert "terminated (SIGTERM)" in stderr.strip().splitlines()[-1]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted" and "SIGTERM" in summary["reason"]
    assert "--save-probs was not written" in summary["reason"]
    masks = sorted(int(p.stem) for p in (out / "masks").glob("*.png"))
    assert summary["frames"] == len(masks) and summary["frames_written"] == [[0, masks[-1]]]
    assert summary["stopped_at"] == {"frame": masks[-1] + 1, "direction": "forward"}
    for t in masks:  # every mask on disk is complete
        assert read_index_mask(out / "masks" / f"{t:05d}.png").shape == (H, W)
    assert (out / "overlay.mp4").stat().st_size > 0  # closed properly: the frames written so far
    leftovers = [p.name for p in [*out.rglob(".*part*"), *tmp_path.glob(".*part*")]]
    assert leftovers == []
    assert probs.read_bytes() == b"an earlier run's file"

    # A re-run of a shorter clip into the same folder: the stale masks go, with a warning.
    run = run_cli(Segment(video="short.mp4", out=str(out), extra=("--size", "-1", "--save-probs", str(probs))).argv(inputs),
                  capsys)
    assert run.code == 0, run.err
    assert f"({len(masks)} masks removed)" in run.err
    assert sorted(p.name for p in (out / "masks").glob("*.png")) == [f"{i:05d}.png" for i in range(5)]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "done" and summary["frames"] == 5 and "stopped_at" not in summary
    assert np.load(probs)["probs"].shape == (5, 2, H, W)
    assert [p.name for p in tmp_path.glob(".*part*")] == []


def test_mask_frame_in_the_middle_reports_where_it_stopped(inputs, tmp_path, capsys, monkeypatch):
    """An error mid-run (here: the disk 'fills' at the 4th mask) still leaves a summary."""
    import xmem_demo.video as video

    real = video.write_index_mask
    calls = []

    def failing(path, mask):
        calls.append(path)
        if len(calls) == 4:
            raise OSError(28, "No space left on device")
        real(path, mask)

    monkeypatch.setattr(video, "write_index_mask", failing)
    out = tmp_path / "o"
    run = run_cli(Segment(video="short.mp4", out=str(out), extra=("--mask-frame", "2", "--size", "-1")).argv(inputs), capsys)
    assert run.code == 1 and "No space left on device" in run.error
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["frames"] == 3
    # backward pass first (2, 1, 0), then forward from 3: the 4th write (frame 3) failed
    assert summary["frames_written"] == [[0, 2]] and summary["stopped_at"] == {"frame": 3, "direction": "forward"}
    assert sorted(p.name for p in (out / "masks").iterdir()) == ["00000.png", "00001.png", "00002.png"]


# ---- downloads interrupted by SIGTERM -------------------------------------------------------
class _Slow(QuietHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            for _ in range(200):
                self.wfile.write(b"y" * 100)
                self.wfile.flush()
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture()
def slow_server(tmp_path, monkeypatch):
    with weights_host(_Slow, monkeypatch, tmp_path / "cache"):
        yield tmp_path / "cache"


def _sigterm_when_part_appears(cache: Path) -> threading.Thread:
    def fire():
        wait_until(lambda: cache.is_dir() and any(cache.glob("*.part")), 30, "the .part file")
        os.kill(os.getpid(), signal.SIGTERM)

    t = threading.Thread(target=fire, daemon=True)
    t.start()
    return t


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_sigterm_during_cli_download_removes_part(slow_server, capsys):
    _sigterm_when_part_appears(slow_server)
    assert run_cli(["download", "xmem"], capsys).code == 128 + signal.SIGTERM
    assert list(slow_server.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # restored


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_sigterm_during_library_download_removes_part(slow_server):
    _sigterm_when_part_appears(slow_server)
    with pytest.raises(SystemExit) as exc:
        weights.download_file(weights.base_url() + "x.bin", slow_server / "x.bin", progress=False)
    assert exc.value.code == 128 + signal.SIGTERM
    assert list(slow_server.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_progress_callback_and_orphan_parts(slow_server, monkeypatch):
    """A callable progress gets (done, total); a .part of a dead process is cleared first."""
    slow_server.mkdir(parents=True)
    orphan = slow_server / "x.bin.999999999.part"
    orphan.write_bytes(b"left by a killed run")
    seen = []
    monkeypatch.setenv("XMEM_DEMO_DOWNLOAD_DEADLINE_S", "0.5")
    with pytest.raises(WeightsError, match="did not finish within"):
        weights.download_file(weights.base_url() + "x.bin", slow_server / "x.bin", progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1][1] == 100000 and seen[-1][0] < 100000
    assert not orphan.exists() and list(slow_server.iterdir()) == []
