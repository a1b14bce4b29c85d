"""Masks read as the user meant them, damaged clips read the same way every time, tiny clips refused."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from xmem_demo.errors import MaskError
from xmem_demo.masks import read_annotation, stray_labels
from xmem_demo.video import Mp4Writer, open_video, write_index_mask


def _soft_edged(path, value=255):
    """A grayscale mask with anti-aliased edges: 0, `value`, and a 1-pixel ring of greys."""
    m = np.zeros((40, 50), np.uint8)
    m[10:30, 10:30] = value
    ring = np.zeros_like(m, bool)
    ring[9:31, 9:31] = True
    ring[10:30, 10:30] = False
    m[ring] = np.linspace(40, 200, ring.sum()).astype(np.uint8)  # many grey levels, as after resizing
    Image.fromarray(m, mode="L").save(path)
    return m


def test_soft_edges_are_snapped_with_a_warning_naming_them(tmp_path):
    src = _soft_edged(tmp_path / "soft.png", value=255)
    ann = read_annotation(tmp_path / "soft.png")
    assert ann.labels == [1]  # one object, not dozens
    assert set(np.unique(ann.mask)) == {0, 1}
    assert (ann.mask[10:30, 10:30] == 1).all() and ann.mask[0, 0] == 0
    grey = sorted(set(np.unique(src)) - {0, 255})
    assert any(f"values {grey[0]}, {grey[1]}" in w for w in ann.warnings), ann.warnings
    assert any("black/white" in w for w in ann.warnings)


def test_two_objects_with_soft_edges_keep_their_ids(tmp_path):
    m = np.zeros((40, 60), np.uint8)
    m[5:20, 5:20] = 1
    m[20:35, 30:50] = 2
    m[4, 5:20] = 7  # a thin band of another value along the edge: not an object
    Image.fromarray(m, mode="L").save(tmp_path / "two.png")
    ann = read_annotation(tmp_path / "two.png")
    assert ann.labels == [1, 2] and "values 7" in ann.warnings[0]
    assert stray_labels(m) == [7]


def test_void_is_ignored_by_default_and_tracked_on_request(tmp_path):
    m = np.zeros((32, 32), np.uint8)
    m[4:12, 4:12] = 1
    m[20:28, 20:28] = 255
    write_index_mask(tmp_path / "v.png", m)  # palette PNG, as DAVIS stores them
    ann = read_annotation(tmp_path / "v.png")
    assert ann.labels == [1] and ann.void_pixels == 64 and "DAVIS 'void'" in ann.warnings[0]
    assert read_annotation(tmp_path / "v.png", void_label=None).labels == [1, 255]


def test_palette_masks_are_never_changed(tmp_path):
    m = np.zeros((32, 32), np.uint8)
    m[4:6, 4:30] = 3  # thin, but a palette index is exact: a real object
    write_index_mask(tmp_path / "p.png", m)
    ann = read_annotation(tmp_path / "p.png")
    assert ann.labels == [3] and ann.warnings == []


def test_jpeg_masks_are_refused(tmp_path):
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / "m.png", format="JPEG")  # misnamed JPEG
    with pytest.raises(MaskError, match="is a JPEG"):
        read_annotation(tmp_path / "m.png")


@pytest.fixture(scope="module")
def truncated_clip(tmp_path_factory):
    root = tmp_path_factory.mktemp("damaged")
    rng = np.random.default_rng(0)
    with Mp4Writer(root / "full.mp4", fps=10) as w:
        for _ in range(40):
            w.write(rng.integers(0, 255, (64, 80, 3), dtype=np.uint8))  # noise: big frames, many bytes each
    data = (root / "full.mp4").read_bytes()
    (root / "cut.mp4").write_bytes(data[: int(len(data) * 0.6)])
    return root / "cut.mp4"


def test_a_truncated_clip_gives_the_same_frames_every_time(truncated_clip):
    answers = []
    for _ in range(3):
        with open_video(truncated_clip) as src:
            n = len(src)
            assert 0 < n < 40 and src.damage and f"0..{n - 1}" in src.damage and "40" in src.damage
            last = src.get(n - 1)
            frames = sum(1 for _ in src.iter_frames())
            answers.append((n, src.damage, last.tobytes(), frames))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][3] == answers[0][0]


def test_tiny_clips_are_refused_everywhere(tmp_path):
    from xmem_demo.app.clip_tab.clip import inspect_clip
    from xmem_demo.errors import UserError

    with Mp4Writer(tmp_path / "2x2.mp4", fps=10) as w:
        for _ in range(3):
            w.write(np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(UserError, match="at least 16×16"):
        inspect_clip(tmp_path / "2x2.mp4")


def test_the_default_device_is_chosen_below_validate():
    """validate.resolve_device("auto") asks hardware.pick_device, a module below it (that no
    import runs up, anywhere in the package: tests/test_layers.py)."""
    import torch

    from xmem_demo import hardware, validate

    assert validate.resolve_device("auto") == hardware.pick_device("auto")
    assert validate.resolve_device(None) == validate.resolve_device("auto") and isinstance(
        validate.resolve_device("cpu"), torch.device)
