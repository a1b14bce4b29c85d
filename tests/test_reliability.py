"""Nothing lost, nothing mixed: one run owns its --out, stale results go, interruptions leave
complete files and a summary saying where the run stopped; downloads leave no .part behind.

One real second process (the CLI as a user starts it) holds the --out while this process tries
to use it; signals (SIGSTOP/SIGCONT/SIGTERM) make the timing deterministic.
"""

from __future__ import annotations

import http.server
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
import torch

from xmem_demo import ModelConfig, XMem, save_checkpoint
from xmem_demo.cli import main
from xmem_demo.video import Mp4Writer, read_index_mask, write_index_mask
from xmem_demo import weights
from xmem_demo.weights import WeightsError

from .conftest import TINY

REPO = Path(__file__).resolve().parents[1]
H, W = 48, 64


def write_clip(path: Path, n: int) -> Path:
    with Mp4Writer(path, fps=10) as w:
        for t in range(n):
            f = np.full((H, W, 3), 40, np.uint8)
            x = 4 + t % 40
            f[10:26, x : x + 16] = (220, 60, 60)
            w.write(f)
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("rel")
    write_clip(root / "long.mp4", 150)
    write_clip(root / "short.mp4", 5)
    mask = np.zeros((H, W), np.uint8)
    mask[10:26, 4:20] = 1
    write_index_mask(root / "mask.png", mask)
    torch.manual_seed(0)
    save_checkpoint(XMem(ModelConfig(**TINY)), root / "tiny.pth")
    return root


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _lock_owner(out: Path) -> str:
    try:
        return (out / ".xmem-demo.lock").read_text().strip()
    except FileNotFoundError:
        return ""


def test_two_runs_one_out_then_sigterm_then_rerun(inputs, tmp_path, capsys):
    out = tmp_path / "shared"
    probs = tmp_path / "p.npz"
    probs.write_bytes(b"an earlier run's file")  # must survive an interrupted run untouched
    cmd = [sys.executable, "-m", "xmem_demo.cli", "segment", str(inputs / "long.mp4"), "--mask",
           str(inputs / "mask.png"), "--out", str(out), "--weights", str(inputs / "tiny.pth"), "--size", "-1",
           "--save-probs", str(probs)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    a = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait(lambda: _lock_owner(out) == str(a.pid) or a.poll() is not None, 240, "run A to take --out")
        assert a.poll() is None, a.communicate()
        os.kill(a.pid, signal.SIGSTOP)  # A holds the folder, frozen: B must be refused now
        try:
            code = main(["segment", str(inputs / "short.mp4"), "--mask", str(inputs / "mask.png"), "--out", str(out),
                         "--weights", str(inputs / "tiny.pth")])
            err = capsys.readouterr().err
            assert code == 2 and f"in use by another xmem-demo run (pid {a.pid})" in err, err
        finally:
            os.kill(a.pid, signal.SIGCONT)
        _wait(lambda: len(list((out / "masks").glob("*.png"))) >= 3 or a.poll() is not None, 240, "A's first masks")
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
    code = main(["segment", str(inputs / "short.mp4"), "--mask", str(inputs / "mask.png"), "--out", str(out),
                 "--weights", str(inputs / "tiny.pth"), "--size", "-1", "--save-probs", str(probs)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"({len(masks)} masks removed)" in err
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
    code = main(["segment", str(inputs / "short.mp4"), "--mask", str(inputs / "mask.png"), "--mask-frame", "2",
                 "--out", str(out), "--weights", str(inputs / "tiny.pth"), "--size", "-1"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 1 and "No space left on device" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["frames"] == 3
    # backward pass first (2, 1, 0), then forward from 3: the 4th write (frame 3) failed
    assert summary["frames_written"] == [[0, 2]] and summary["stopped_at"] == {"frame": 3, "direction": "forward"}
    assert sorted(p.name for p in (out / "masks").iterdir()) == ["00000.png", "00001.png", "00002.png"]


# ---- downloads interrupted by SIGTERM -------------------------------------------------------
class _Slow(http.server.BaseHTTPRequestHandler):
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

    def log_message(self, *args):
        pass


@pytest.fixture()
def slow_server(tmp_path, monkeypatch):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setenv("XMEM_DEMO_WEIGHTS_URL", f"http://127.0.0.1:{httpd.server_address[1]}/")
    monkeypatch.setenv("XMEM_DEMO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("XMEM_DEMO_OFFLINE", raising=False)
    yield tmp_path / "cache"
    httpd.shutdown()


def _sigterm_when_part_appears(cache: Path) -> threading.Thread:
    def fire():
        _wait(lambda: cache.is_dir() and any(cache.glob("*.part")), 30, "the .part file")
        os.kill(os.getpid(), signal.SIGTERM)

    t = threading.Thread(target=fire, daemon=True)
    t.start()
    return t


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_sigterm_during_cli_download_removes_part(slow_server, capsys):
    _sigterm_when_part_appears(slow_server)
    code = main(["download", "xmem"])
    assert code == 128 + signal.SIGTERM
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
