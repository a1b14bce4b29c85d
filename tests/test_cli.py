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
