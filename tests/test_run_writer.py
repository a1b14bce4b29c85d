"""One writer for run outputs (issue 20, item 2): the overlay holds exactly the masks on disk
after an interrupt in either pass, summary.json is written on a full disk (or one line says
why not), and the CLI and the app write the same bytes for the same run.

The interrupts are real SIGINTs to a real `xmem-demo segment`; the full disk is a real 400 KiB
tmpfs (in a user+mount namespace, where the machine allows one) and, to reach every branch of
the retry, an ENOSPC raised where the summary is written.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xmem_demo.outdir import OutputDir
from xmem_demo.run_writer import RunWriter
from xmem_demo.video import read_index_mask, write_index_mask

from .support import H, W, Segment, run_cli, save_tiny_checkpoint, square_frames, square_mask, wait_until, write_clip

REPO = Path(__file__).resolve().parents[1]
FRAMES = 150


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("writer")
    write_clip(root / "long.mp4", square_frames(FRAMES, step=1))
    write_index_mask(root / "mask.png", square_mask())
    save_tiny_checkpoint(root / "tiny.pth")
    return root


def video_frame_count(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))



@pytest.mark.parametrize("mask_frame, direction", [(0, "forward"), (FRAMES - 10, "backward")])
def test_overlay_holds_exactly_the_masks_after_ctrl_c(inputs, tmp_path, mask_frame, direction):
    """SIGINT mid-pass: as many overlay frames as masks on disk, the same range, in both passes
    (before: one frame short in the forward pass, no overlay at all in the backward pass)."""
    out = tmp_path / "out"
    # --size 480 upsamples the 48 x 64 clip: slow enough per frame to be stopped mid-pass.
    argv = Segment(video="long.mp4", out=str(out), extra=("--mask-frame", str(mask_frame), "--size", "480")).argv(inputs)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "xmem_demo.cli", *argv], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        masks = out / "masks"
        # final names only: a mask being written is a hidden ".00003.png.part<pid>.png" until renamed
        wait_until(lambda: (masks.is_dir() and len(list(masks.glob("[0-9]*.png"))) >= 4) or proc.poll() is not None, 240,
                   "the first masks", poll=0.01)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "xmem-demo: interrupted; finished files kept, see summary.json"
    summary = json.loads((out / "summary.json").read_text())
    on_disk = sorted(int(p.stem) for p in (out / "masks").glob("*.png"))
    assert summary["status"] == "interrupted" and summary["frames"] == len(on_disk) >= 4
    assert summary["stopped_at"]["direction"] == direction, summary  # stopped inside the pass under test
    assert summary["frames_written"] == [[on_disk[0], on_disk[-1]]]
    assert summary["video_frames"] == [on_disk[0], on_disk[-1]]
    assert video_frame_count(out / "overlay.mp4") == len(on_disk)
    assert (out / "memory_trace.csv").read_text().count("\n") == len(on_disk) + 1  # a header, one row a frame
    assert [p.name for p in out.rglob(".*part*")] == []


def test_overlay_after_a_complete_run_with_the_mask_in_the_middle(inputs, tmp_path, capsys):
    """Backward pass first, read back from disk once the forward pass starts: every frame once."""
    out = tmp_path / "o"
    run = run_cli(Segment(video="long.mp4", out=str(out), extra=("--mask-frame", "100", "--size", "-1")).argv(inputs),
                  capsys)
    assert run.code == 0, run.err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "done" and summary["video_frames"] == [0, FRAMES - 1]
    assert video_frame_count(out / "overlay.mp4") == FRAMES


# ---- a full disk ----------------------------------------------------------------------------
def _tmpfs_works() -> bool:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _tmpfs_works(), reason="needs a user+mount namespace (unshare -rm) for a small tmpfs")
def test_summary_on_a_real_full_disk(inputs, tmp_path):
    """--out on a 400 KiB tmpfs: the masks fill it mid-run; the run fails with one line, exit 1,
    and summary.json says how far it got and why the overlay is missing."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    argv = Segment(video="long.mp4", out=str(mnt / "out"), extra=("--size", "-1")).argv(inputs)
    cli = " ".join(f"'{a}'" for a in [sys.executable, "-m", "xmem_demo.cli", *argv])
    script = (f"mount -t tmpfs -o size=400k tmpfs '{mnt}' && {cli}; echo \"exit=$?\"; "
              f"echo ===; cat '{mnt}/out/summary.json'; echo ===; ls '{mnt}/out/masks' | wc -l")
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    run = subprocess.run(["unshare", "-rm", "sh", "-c", script], env=env, capture_output=True, text=True, timeout=300)
    head, summary_text, count = run.stdout.split("===")
    assert "exit=1" in head, run.stdout + run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("xmem-demo: error: [Errno 28] No space left on device") and "see summary.json" in last
    summary = json.loads(summary_text)
    assert summary["status"] == "failed" and 0 < summary["frames"] < FRAMES
    assert summary["frames"] == int(count) and summary["frames_written"] == [[0, summary["frames"] - 1]]
    assert "No space left on device" in summary["reason"]
    assert summary["video_frames"] is None and any("overlay.mp4 not written" in n for n in summary["notes"])


def _full_disk(times: int):
    """OutputDir.write_json that fails with ENOSPC for summary.json the first `times` times."""
    real = OutputDir.write_json
    calls = []

    def write_json(folder, name, data):
        if name == "summary.json":
            calls.append(name)
            if len(calls) <= times:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(folder, name, data)

    return write_json


def _writer_with_frames(out: Path, frames: list[np.ndarray], n: int) -> RunWriter:
    run = RunWriter(out, frames_total=len(frames), fps=10)
    run.open()
    for t in range(n):
        run.add(t, "forward", square_mask(), frame=frames[t], row={"frame": t})
    return run


@pytest.mark.parametrize("fails, status, kept_overlay", [(1, "interrupted", True), (2, "interrupted", False),
                                                         (2, "done", None), (3, "interrupted", None)])
def test_summary_retried_after_freeing_space(tmp_path, monkeypatch, fails, status, kept_overlay):
    """ENOSPC on summary.json: temporaries go and it is tried again; then, for a run that did not
    finish, the partial overlay goes (the masks redraw it); after that, one line says why."""
    monkeypatch.setattr(OutputDir, "write_json", _full_disk(fails))
    frames = square_frames(6)
    run = _writer_with_frames(tmp_path / "o", frames, 4)
    summary = run.close(status, "stopped by Ctrl-C" if status != "done" else "")
    run.folder.release()
    if kept_overlay is None:  # out of things to free
        assert summary is None and (tmp_path / "o" / "summary.json").exists() is False
        assert run.summary_error.startswith(f"no summary.json in '{tmp_path / 'o'}': No space left on device")
        assert "the masks on disk are complete" in run.summary_error
        return
    written = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert written == summary and summary["frames"] == 4
    assert (tmp_path / "o" / "overlay.mp4").exists() is kept_overlay
    if kept_overlay:
        assert summary["video_frames"] == [0, 3] and video_frame_count(tmp_path / "o" / "overlay.mp4") == 4
    else:
        assert summary["video_frames"] is None and "removed to make room" in summary["notes"][-1]


def test_cli_says_in_one_line_why_there_is_no_summary(inputs, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(OutputDir, "write_json", _full_disk(99))
    out = tmp_path / "o"
    run = run_cli(Segment(video="long.mp4", out=str(out), extra=("--size", "-1")).argv(inputs), capsys)
    assert run.code == 1
    assert run.err.strip().splitlines()[-1] == (
        f"xmem-demo: error: no summary.json in '{out}': No space left on device "
        "(the disk is full; the masks on disk are complete)")
    assert len(list((out / "masks").glob("*.png"))) == FRAMES and (out / "overlay.mp4").exists()


def test_frames_out_of_order_wait_on_disk(tmp_path):
    """The app's order (forward from the annotation, then backward): nothing enters the overlay
    until the range's first frame is there; close() writes the rest in frame order."""
    frames = square_frames(8)

    class Source:
        def get(self, t):
            return frames[t]

    run = RunWriter(tmp_path / "o", frames_total=8, source=Source(), fps=10, first=2)
    run.open()
    for t in [4, 5, 6, 7, 3]:
        run.add(t, "forward" if t >= 4 else "backward", square_mask(), frame=frames[t])
    assert run.video_frames == 0 and run.pending_video_frames() == 5  # 2 never came: the overlay starts at 3
    progress = list(run.finish_videos())
    assert progress[-1] == (5, 5)
    summary = run.close("stopped")
    run.folder.release()
    assert summary["video_frames"] == [3, 7] and video_frame_count(tmp_path / "o" / "overlay.mp4") == 5
    assert read_index_mask(tmp_path / "o" / "masks" / "00003.png").shape == (H, W)


# ---- one writer: the CLI and the app write the same files for the same run ------------------
from .app_fixtures import CLIP_FRAMES, DEFAULT_TRACK, disc_centre  # noqa: E402


def test_cli_and_app_write_the_same_masks_and_overlay(loaded, app_weights, app_examples, tmp_path, capsys):
    """One clip, one annotation on frame 5 (a forward and a backward pass), the same weights and
    settings: `xmem-demo segment` and the app's Track give byte-identical mask PNGs and
    overlay MP4s (one writer, one drawing, one palette rule), and the same memory trace."""
    import zipfile

    from xmem_demo.app.clip_tab import actions
    from xmem_demo.app.clip_tab.tracking import TrackSettings, run_tracking
    from xmem_demo.clicks import GrabCutSegmenter
    from xmem_demo.config import MemoryConfig

    actions.set_frame(loaded, 5)
    actions.add_click(loaded, *disc_centre(5), True, GrabCutSegmenter())
    memory = {k: v for k, v in DEFAULT_TRACK.items() if k not in ("weights", "device", "working_size")}
    updates = list(run_tracking(loaded, TrackSettings(str(app_weights), "cpu", 96, memory)))
    assert updates[-1].phase == "done"
    app = loaded.result

    write_index_mask(tmp_path / "mask5.png", loaded.annotations()[5])
    defaults, flags = MemoryConfig(), []
    for name, value in memory.items():
        setting = MemoryConfig.settings()[name]
        if setting.flag and value != getattr(defaults, name):
            flags += [setting.flag] if isinstance(value, bool) else [setting.flag, str(value)]
    out = tmp_path / "cli"
    run = run_cli(["segment", str(app_examples / "tiny.mp4"), "--mask", str(tmp_path / "mask5.png"), "--mask-frame", "5",
                   "--out", str(out), "--weights", str(app_weights), "--size", "96", "--precision", "fp32",
                   "--device", "cpu", *flags], capsys)
    assert run.code == 0, run.err

    with zipfile.ZipFile(app.masks_zip) as zf:
        for t in range(CLIP_FRAMES):
            assert (out / "masks" / f"{t:05d}.png").read_bytes() == zf.read(f"tiny/{t:05d}.png"), t
    assert (out / "overlay.mp4").read_bytes() == Path(app.overlay).read_bytes()
    assert video_frame_count(out / "overlay.mp4") == CLIP_FRAMES
    cli_trace = json.loads((out / "memory_trace.json").read_text())
    app_trace = json.loads((Path(app.run_dir) / "memory_trace.json").read_text())
    untimed = lambda rows: {r["frame"]: {k: v for k, v in r.items() if k != "seconds"} for r in rows}  # noqa: E731
    assert untimed(cli_trace) == untimed(app_trace) and len(cli_trace) == CLIP_FRAMES
