"""The xmem-demo command line: a real run end to end, and clear errors on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from xmem_demo import save_checkpoint
from xmem_demo.cli import main
from xmem_demo.video import Mp4Writer, read_index_mask, write_index_mask

from .conftest import TINY

H, W, T = 48, 64, 9


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A tiny video (a square moving right), its first-frame mask, and a small model file."""
    root = tmp_path_factory.mktemp("cli")
    frames = []
    for t in range(T):
        f = np.full((H, W, 3), 40, np.uint8)
        f[10:26, 4 + 3 * t : 20 + 3 * t] = (220, 60, 60)
        frames.append(f)
    with Mp4Writer(root / "clip.mp4", fps=10) as w:
        for f in frames:
            w.write(f)
    mask = np.zeros((H, W), np.uint8)
    mask[10:26, 4:20] = 3
    write_index_mask(root / "mask.png", mask)
    import torch

    from xmem_demo import ModelConfig, XMem

    torch.manual_seed(0)
    save_checkpoint(XMem(ModelConfig(**TINY)), root / "tiny.pth", model_card="test model")
    frames_dir = root / "frames"
    frames_dir.mkdir()
    for i, f in enumerate(frames):
        Image.fromarray(f).save(frames_dir / f"{i:05d}.jpg", quality=95)
    return root


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_segment_writes_masks_overlay_probs_and_summary(clip, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, stderr = run(
        ["segment", str(clip / "clip.mp4"), "--mask", str(clip / "mask.png"), "--out", str(out),
         "--weights", str(clip / "tiny.pth"), "--size", "-1", "--mem-every", "2",
         "--save-probs", str(tmp_path / "p.npz")], capsys)
    assert code == 0, stderr
    pngs = sorted((out / "masks").glob("*.png"))
    assert [p.name for p in pngs] == [f"{i:05d}.png" for i in range(T)]
    first = read_index_mask(pngs[0])
    assert set(np.unique(first).tolist()) == {0, 3}  # the user's label id is kept
    assert (out / "overlay.mp4").stat().st_size > 1000
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == T and summary["fps"] > 0 and summary["peak_rss_mib"] > 0
    assert "done: 9 frames" in stdout
    probs = np.load(tmp_path / "p.npz")["probs"]
    assert probs.shape == (T, 2, H, W) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-4)


def test_segment_from_mask_frame_in_the_middle_and_frame_dir(clip, tmp_path, capsys):
    code, _, stderr = run(
        ["segment", str(clip / "frames"), "--mask", str(clip / "mask.png"), "--mask-frame", "4",
         "--out", str(tmp_path / "o"), "--weights", str(clip / "tiny.pth"), "--size", "32"], capsys)
    assert code == 0, stderr
    assert len(list((tmp_path / "o" / "masks").glob("*.png"))) == T  # backward and forward


@pytest.mark.parametrize(
    "setup, message",
    [
        ("missing_video", "not found"),
        ("unknown_type", "unsupported"),
        ("corrupt_video", "clip.mp4"),
        ("wrong_mask_size", "mask is"),
        ("empty_mask", "no object"),
        ("bad_mask_frame", "--mask-frame 99"),
        ("corrupt_weights", "cannot load checkpoint"),
        ("bad_memory", "T_max"),
    ],
)
def test_bad_input_gives_one_clear_error(clip, tmp_path, capsys, setup, message):
    video, mask, weights = clip / "clip.mp4", clip / "mask.png", clip / "tiny.pth"
    extra: list[str] = []
    if setup == "missing_video":
        video = tmp_path / "nope.mp4"
    elif setup == "unknown_type":
        video = tmp_path / "clip.xyz"
        video.write_bytes(b"123")
    elif setup == "corrupt_video":
        video = tmp_path / "clip.mp4"
        video.write_bytes(np.random.default_rng(0).bytes(5000))
    elif setup == "wrong_mask_size":
        mask = tmp_path / "m.png"
        write_index_mask(mask, np.ones((10, 10), np.uint8))
    elif setup == "empty_mask":
        mask = tmp_path / "m.png"
        write_index_mask(mask, np.zeros((H, W), np.uint8))
    elif setup == "bad_mask_frame":
        extra = ["--mask-frame", "99"]
    elif setup == "corrupt_weights":
        weights = tmp_path / "w.pth"
        weights.write_bytes(b"\x00" * 100)
    elif setup == "bad_memory":
        extra = ["--max-mid-term-frames", "2"]
    out = tmp_path / "out"
    code, _, stderr = run(["segment", str(video), "--mask", str(mask), "--out", str(out), "--weights", str(weights), *extra], capsys)
    assert code == 2
    assert message in stderr and stderr.startswith("xmem-demo: error:")
    assert "Traceback" not in stderr


def test_console_script_help():
    result = subprocess.run([sys.executable, "-m", "xmem_demo.cli", "segment", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for flag in ["--mem-every", "--deep-update-every", "--top-k", "--min-mid-term-frames", "--max-mid-term-frames",
                 "--num-prototypes", "--max-long-term-elements", "--disable-long-term", "--save-probs", "--size"]:
        assert flag in result.stdout


def test_segment_in_bf16_runs_and_says_so(clip, tmp_path, capsys):
    out = tmp_path / "bf16"
    code, _, stderr = run(
        ["segment", str(clip / "clip.mp4"), "--mask", str(clip / "mask.png"), "--out", str(out),
         "--weights", str(clip / "tiny.pth"), "--size", "-1", "--precision", "bf16"], capsys)
    assert code == 0, stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["precision"] == "bf16" and summary["frames"] == T
    assert len(list((out / "masks").glob("*.png"))) == T


def test_segment_rejects_an_unknown_precision(clip, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["segment", str(clip / "clip.mp4"), "--mask", str(clip / "mask.png"), "--out", str(tmp_path / "x"),
              "--precision", "int8"])
    assert exc.value.code == 2
    assert "invalid choice: 'int8'" in capsys.readouterr().err
