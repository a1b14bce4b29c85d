"""Unusual but valid inputs give the right result (issue 20): 16-bit and other frame modes,
masks with alpha (transparent = background), BGR views and strided arrays, plain-dict configs,
annotations as lists, tensors, bools or numpy keys; and Ctrl-C at any moment is one line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from xmem_demo import MemoryConfig
from xmem_demo.masks import read_annotation
from xmem_demo.pipeline import ArraySource, track
from xmem_demo.session import InferenceSession, prepare
from xmem_demo.video import open_video, read_index_mask

from .support import H, W, run_cli, save_tiny_checkpoint, square_frames, square_mask, write_clip

REPO = Path(__file__).resolve().parents[1]


# ---- frames: every mode Pillow opens, by meaning ----------------------------------------------
def _folder(tmp_path: Path, images: list[Image.Image]) -> Path:
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, im in enumerate(images):
        im.save(folder / f"{i:05d}.png")
    return folder


def test_16_bit_grayscale_frames_are_scaled_not_clipped_to_white(tmp_path):
    a = np.full((H, W), 20000, np.uint16)
    a[10:26, 4:20] = 60000
    frame = open_video(_folder(tmp_path, [Image.fromarray(a)])).get(0)
    assert frame.dtype == np.uint8 and frame.shape == (H, W, 3)
    assert frame[0, 0].tolist() == [78] * 3 and frame[15, 10].tolist() == [233] * 3  # round(v / 257)


def test_16_bit_rgb_frames_keep_their_values(tmp_path):
    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    a = np.zeros((H, W, 3), np.uint16)
    a[..., 2] = 65535  # red in OpenCV's BGR order
    a[..., 1] = 20000
    cv2.imwrite(str(folder / "00000.png"), a)
    assert open_video(folder).get(0)[0, 0].tolist() == [255, 78, 0]


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "1", "I"])
def test_other_frame_modes_become_the_rgb_they_show(tmp_path, mode):
    rgb = np.full((H, W, 3), 200, np.uint8)
    im = Image.fromarray(rgb).convert(mode) if mode != "I" else Image.fromarray(rgb[..., 0].astype(np.int32) * 257)
    frame = open_video(_folder(tmp_path, [im])).get(0)
    assert frame.shape == (H, W, 3) and frame.dtype == np.uint8
    assert abs(int(frame[0, 0, 0]) - (255 if mode == "1" else 200)) <= (6 if mode == "P" else 1)  # P: a 216-colour palette


def test_a_32_bit_float_frame_is_refused_with_its_reason(tmp_path):
    from xmem_demo.errors import VideoError
    from xmem_demo.video.pillow import to_rgb

    with pytest.raises(ValueError, match="floating-point pixels"):
        to_rgb(Image.fromarray(np.zeros((4, 4), np.float32)), "f.tif")
    assert issubclass(VideoError, ValueError)


# ---- masks with alpha: transparent = background -----------------------------------------------
def _rgba(background=(255, 255, 255), alpha_bg=0, alpha_obj=255) -> np.ndarray:
    a = np.zeros((H, W, 4), np.uint8)
    a[..., :3] = background
    a[..., 3] = alpha_bg
    a[10:26, 4:20] = (255, 0, 0, alpha_obj)
    return a


@pytest.mark.parametrize("background", [(255, 255, 255), (0, 0, 0), (12, 200, 7)])
def test_an_rgba_mask_with_a_transparent_background_is_one_object(tmp_path, background):
    Image.fromarray(_rgba(background), "RGBA").save(tmp_path / "m.png")
    with pytest.warns(UserWarning, match="RGB image"):
        ann = read_annotation(tmp_path / "m.png")
    assert ann.labels == [1] and (ann.mask > 0).sum() == 16 * 16


def test_semi_transparent_edges_count_by_half_alpha(tmp_path):
    a = _rgba()
    a[9, 4:20] = (255, 0, 0, 100)  # faint edge: background
    a[26, 4:20] = (255, 0, 0, 200)  # mostly opaque: object
    Image.fromarray(a, "RGBA").save(tmp_path / "m.png")
    with pytest.warns(UserWarning):
        m = read_index_mask(tmp_path / "m.png")
    assert m[9, 10] == 0 and m[26, 10] == m[15, 10] == 1


def test_grey_alpha_and_palette_transparency_mean_background(tmp_path):
    la = np.zeros((H, W, 2), np.uint8)
    la[..., 0] = 255  # would be DAVIS void where transparent
    la[10:26, 4:20] = (1, 255)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    assert read_annotation(tmp_path / "la.png").labels == [1]
    idx = np.full((H, W), 9, np.uint8)
    idx[10:26, 4:20] = 3
    p = Image.fromarray(idx, "P")
    p.putpalette([v % 256 for v in range(768)])
    p.save(tmp_path / "p.png", transparency=9)
    assert sorted(np.unique(read_index_mask(tmp_path / "p.png")).tolist()) == [0, 3]


def test_the_cli_tracks_one_object_from_an_rgba_mask(tmp_path, capsys):
    import json

    write_clip(tmp_path / "clip.mp4", square_frames(3))
    save_tiny_checkpoint(tmp_path / "tiny.pth")
    Image.fromarray(_rgba(), "RGBA").save(tmp_path / "m.png")
    run = run_cli(["segment", str(tmp_path / "clip.mp4"), "--mask", str(tmp_path / "m.png"), "--out", str(tmp_path / "o"),
                   "--weights", str(tmp_path / "tiny.pth")], capsys)
    assert run.code == 0, run.err
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["objects"] == [1]


def test_the_app_reads_an_rgba_mask_as_one_object(tmp_path):
    from xmem_demo.app.clip_tab.actions import apply_mask_upload, load_clip
    from xmem_demo.app.clip_tab.state import AppState

    write_clip(tmp_path / "clip.mp4", square_frames(3))
    Image.fromarray(_rgba(), "RGBA").save(tmp_path / "m.png")
    state = AppState()
    load_clip(state, tmp_path / "clip.mp4")
    with pytest.warns(UserWarning):
        apply_mask_upload(state, tmp_path / "m.png")
    assert len(state.objects) == 1


# ---- the API: views, strides, dicts, lists, tensors -------------------------------------------
def _masks(model, frames, annotations, **kw):
    return [r.mask for r in track(model, ArraySource(frames), annotations, working_size=-1, **kw)]


def test_bgr_views_and_strided_frames_just_work(tiny_model):
    frames = square_frames(3)
    expected = _masks(tiny_model, frames, {0: square_mask()})
    bgr = [np.ascontiguousarray(f[..., ::-1]) for f in frames]
    views = [b[..., ::-1] for b in bgr]  # RGB again, as a negative-stride view (OpenCV's idiom)
    assert all(np.array_equal(a, b) for a, b in zip(expected, _masks(tiny_model, views, {0: square_mask()})))
    big = [np.repeat(np.repeat(f, 2, 0), 2, 1)[::2, ::2] for f in frames]  # a strided, non-contiguous view
    assert all(np.array_equal(a, b) for a, b in zip(expected, _masks(tiny_model, big, {0: square_mask()})))
    image, _ = prepare(views[0])
    assert torch.equal(image, prepare(frames[0])[0])
    session = InferenceSession(tiny_model)
    assert session.step(views[0], mask=square_mask()[::1, ::1]).shape == (2, H, W)


def test_a_plain_dict_config_is_the_memory_config_it_names(tiny_model):
    frames = square_frames(4)
    a = _masks(tiny_model, frames, {0: square_mask()}, config=MemoryConfig(mem_every=2))
    b = _masks(tiny_model, frames, {0: square_mask()}, config={"mem_every": 2})
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert InferenceSession(tiny_model, {"top_k": 7}).config == MemoryConfig(top_k=7)


@pytest.mark.parametrize("form", ["list", "tensor", "bool", "numpy key", "int64"])
def test_annotations_in_other_forms_give_the_same_masks(tiny_model, form):
    frames = square_frames(3)
    mask = square_mask()
    expected = _masks(tiny_model, frames, {0: mask})
    given = {
        "list": {0: mask.tolist()},
        "tensor": {0: torch.from_numpy(mask)},
        "bool": {0: mask > 0},
        "numpy key": {np.int64(0): mask},
        "int64": {0: mask.astype(np.int64)},
    }[form]
    assert all(np.array_equal(a, b) for a, b in zip(expected, _masks(tiny_model, frames, given)))


# ---- Ctrl-C at any moment: one line -------------------------------------------------------------
@pytest.mark.slow
def test_ctrl_c_at_any_moment_ends_with_one_line(tmp_path):
    """SIGINT while torch loads, while the model loads, and while frames are tracked."""
    write_clip(tmp_path / "clip.mp4", square_frames(40))
    Image.fromarray(square_mask()).save(tmp_path / "mask.png")
    save_tiny_checkpoint(tmp_path / "tiny.pth")
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    seen = set()
    for delay in (0.3, 0.8, 1.5, 3.0):
        p = subprocess.Popen([sys.executable, "-m", "xmem_demo.cli", "segment", str(tmp_path / "clip.mp4"), "--mask",
                              str(tmp_path / "mask.png"), "--out", str(tmp_path / f"o{delay}"), "--weights",
                              str(tmp_path / "tiny.pth")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        time.sleep(delay)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=120)
        if "Traceback" in err and "xmem_demo" not in err:
            continue  # the signal came while the interpreter itself started (runpy, site): before our code
        assert "Traceback" not in err, err
        last = [ln for ln in err.replace("\r", "\n").splitlines() if ln.strip()][-1]
        if p.returncode == 0:  # finished before the signal: nothing to check
            continue
        assert p.returncode == 130 and last.startswith("xmem-demo: interrupted"), err
        seen.add(last)
    assert seen, "every run finished before its signal"
