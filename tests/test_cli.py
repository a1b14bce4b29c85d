"""The xmem-demo command line: real runs end to end (bad input, case by case, is in
test_bad_inputs.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from xmem_demo.video import read_index_mask, write_index_mask

from .support import H, W, Segment, run_cli, save_tiny_checkpoint, square_frames, square_mask, write_clip

T = 9


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A tiny video (a square moving right) as an MP4 and as a folder of JPEGs, its first-frame
    mask (object id 3), and a small model file."""
    root = tmp_path_factory.mktemp("cli")
    frames = square_frames(T)
    write_clip(root / "clip.mp4", frames)
    write_index_mask(root / "mask.png", square_mask(label=3))
    save_tiny_checkpoint(root / "tiny.pth", model_card="test model")
    frames_dir = root / "frames"
    frames_dir.mkdir()
    for i, f in enumerate(frames):
        Image.fromarray(f).save(frames_dir / f"{i:05d}.jpg", quality=95)
    return root


def test_segment_writes_masks_overlay_probs_and_summary(clip, tmp_path, capsys):
    out = tmp_path / "out"
    run = run_cli(Segment(out=str(out), extra=("--size", "-1", "--mem-every", "2", "--save-probs", str(tmp_path / "p.npz")))
                  .argv(clip), capsys)
    assert run.code == 0, run.err
    pngs = sorted((out / "masks").glob("*.png"))
    assert [p.name for p in pngs] == [f"{i:05d}.png" for i in range(T)]
    first = read_index_mask(pngs[0])
    assert set(np.unique(first).tolist()) == {0, 3}  # the user's label id is kept
    assert (out / "overlay.mp4").stat().st_size > 1000
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == T and summary["fps"] > 0 and summary["peak_rss_mib"] > 0
    assert "done: 9 frames" in run.out
    # the thread policy (issue 22) is printed beside the precision and kept in the summary
    assert summary["threads"] >= 1 and "OpenMP waiting" in summary["threads_reason"]
    assert f"threads {summary['threads_reason']}" in run.err
    probs = np.load(tmp_path / "p.npz")["probs"]
    assert probs.shape == (T, 2, H, W) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-4)


def test_segment_from_mask_frame_in_the_middle_and_frame_dir(clip, tmp_path, capsys):
    run = run_cli(Segment(video="frames", out=str(tmp_path / "o"), extra=("--mask-frame", "4", "--size", "32")).argv(clip),
                  capsys)
    assert run.code == 0, run.err
    assert len(list((tmp_path / "o" / "masks").glob("*.png"))) == T  # backward and forward


def test_console_script_help():
    result = subprocess.run([sys.executable, "-m", "xmem_demo.cli", "segment", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for flag in ["--mem-every", "--deep-update-every", "--top-k", "--min-mid-term-frames", "--max-mid-term-frames",
                 "--num-prototypes", "--max-long-term-elements", "--disable-long-term", "--save-probs", "--size"]:
        assert flag in result.stdout


def test_segment_in_bf16_runs_and_says_so(clip, tmp_path, capsys):
    out = tmp_path / "bf16"
    run = run_cli(Segment(out=str(out), extra=("--size", "-1", "--precision", "bf16")).argv(clip), capsys)
    assert run.code == 0, run.err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["precision"] == "bf16" and summary["frames"] == T
    assert len(list((out / "masks").glob("*.png"))) == T


# ---- commands that work after a regular install (issue 21) -----------------------------------
def test_segment_output_is_what_eval_reads(clip, tmp_path, capsys):
    """`segment --out PRED/seq` then `eval PRED GT`: no folders rearranged by hand."""
    from xmem_demo.metrics import jf

    gt = tmp_path / "gt" / "square"
    truth = []
    for t in range(T):  # the square of square_frames: rows 10..25, x = 4 + 3t, label 3
        mask = np.zeros((H, W), np.uint8)
        mask[10:26, 4 + 3 * t: 20 + 3 * t] = 3
        gt.mkdir(parents=True, exist_ok=True)
        write_index_mask(gt / f"{t:05d}.png", mask)
        truth.append(mask)
    np.testing.assert_array_equal(truth[0], square_mask(label=3))
    preds = tmp_path / "preds"
    run = run_cli(Segment(out=str(preds / "square"), extra=("--size", "-1")).argv(clip), capsys)
    assert run.code == 0, run.err
    assert not list((preds / "square").glob("*.png"))  # the masks are in masks/, as before
    run = run_cli(["eval", str(preds), str(tmp_path / "gt")], capsys)
    assert run.code == 0, run.err
    got = np.stack([read_index_mask(preds / "square" / "masks" / f"{t:05d}.png") for t in range(T)])
    want = jf(got, np.stack(truth))
    row = next(line for line in run.out.splitlines() if line.startswith("square") and "mean" in line)
    assert row.split()[-1] == f"{want['J&F']:.3f}"
    # one sequence: the segment folder against its ground-truth folder
    one = run_cli(["eval", str(preds / "square"), str(gt)], capsys)
    assert one.code == 0 and f"{want['J&F']:.3f}" in one.out, one.err


def test_version_names_the_package_and_torch(capsys):
    import torch

    import xmem_demo

    run = run_cli(["--version"], capsys)
    assert run.code == 0 and run.out.startswith(f"xmem-demo {xmem_demo.__version__} (torch {torch.__version__}")


@pytest.mark.parametrize("argv, message", [
    (["segment", "--out", "o"], "give a VIDEO (file or folder of frames) and --mask MASK.png, or --example"),
    (["segment", "v.mp4", "--out", "o"], "--mask MASK.png is required"),
    (["segment", "--example", "v.mp4", "--out", "o"], "--example brings its own clip and mask"),
    (["segment", "--example", "--mask-frame", "3", "--out", "o"], "--example's mask is for frame 0"),
])
def test_segment_needs_a_video_and_mask_or_the_example(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = run_cli(argv, capsys)
    assert run.code == 2 and message in run.err, run.err
    assert not (tmp_path / "o").exists()
