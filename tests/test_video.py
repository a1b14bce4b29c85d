"""Reading clips (streaming) and writing the result formats; clear errors on bad files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from xmem_demo.errors import MaskError, VideoError
from xmem_demo.palette import PALETTE, colorize, overlay
from xmem_demo.video import (
    Mp4Writer, check_mask_shape, open_video, read_index_mask, resize_short_side, working_shape, write_index_mask,
)


def gradient_frames(n=7, h=36, w=50):
    out = []
    for t in range(n):
        f = np.zeros((h, w, 3), np.uint8)
        f[..., 0] = 30 * t % 256
        f[..., 1] = np.linspace(0, 255, w, dtype=np.uint8)[None]
        f[..., 2] = 128
        out.append(f)
    return out


def test_mp4_round_trip_is_h264_and_streams(tmp_path):
    frames = gradient_frames()
    path = tmp_path / "v.mp4"
    with Mp4Writer(path, fps=12) as w:  # odd width/height are padded to even
        for f in frames:
            w.write(f[:35, :49])
    src = open_video(path)
    assert (src.info.num_frames, src.info.width, src.info.height, src.info.kind) == (7, 50, 36, "video")
    assert src.info.fps == pytest.approx(12)
    assert np.abs(src.get(3)[:35, :49].astype(int) - frames[3][:35, :49]).mean() < 6
    streamed = list(src.iter_frames(start=1, stop=7, step=2, batch=2))
    assert len(streamed) == 3 and np.array_equal(streamed[1], src.get(3))
    assert b"avc1" in path.read_bytes()[:4096] or b"avc1" in path.read_bytes()  # H.264 sample entry


def test_frame_folder_natural_order(tmp_path):
    for i, f in enumerate(gradient_frames(n=11)):
        Image.fromarray(f).save(tmp_path / f"frame{i}.png")
    src = open_video(tmp_path)
    assert len(src) == 11 and src.info.kind == "frames"
    assert src.get(10)[0, 0, 0] == 30 * 10 % 256  # frame10 after frame9, not after frame1


def test_gif(tmp_path):
    frames = [Image.fromarray(f) for f in gradient_frames(n=4)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:], duration=50)
    src = open_video(tmp_path / "a.gif")
    assert len(src) == 4 and src.get(2).shape == (36, 50, 3) and src.info.fps == pytest.approx(20)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("clip.xyz", b"abc", "unsupported file type '.xyz'"),
        ("clip.mp4", b"", "empty"),
        ("clip.mp4", bytes(range(256)) * 40, "cannot decode"),
        ("clip.gif", b"GIF89a-not-really", "cannot read this GIF"),
    ],
)
def test_bad_files(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(VideoError, match=message):
        open_video(tmp_path / name)


def test_missing_and_empty_folder(tmp_path):
    with pytest.raises(VideoError, match="not found"):
        open_video(tmp_path / "nope.mp4")
    with pytest.raises(VideoError, match="no .* frames"):
        open_video(tmp_path)


def test_working_shape_and_resize():
    assert working_shape(480, 854, 240) == (240, 427)
    assert working_shape(480, 854, -1) == (480, 854)
    assert resize_short_side(np.zeros((100, 200, 3), np.uint8), 50).shape == (50, 100, 3)


def test_palette_png_round_trip_and_palette(tmp_path):
    assert tuple(PALETTE[0]) == (0, 0, 0) and tuple(PALETTE[1]) == (128, 0, 0) and tuple(PALETTE[2]) == (0, 128, 0)
    assert len({tuple(c) for c in PALETTE.tolist()}) == 256
    mask = np.zeros((20, 30), np.uint8)
    mask[2:8, 3:9] = 1
    mask[10:15, 10:25] = 200
    write_index_mask(tmp_path / "m.png", mask)
    with Image.open(tmp_path / "m.png") as im:
        assert im.mode == "P"
    np.testing.assert_array_equal(read_index_mask(tmp_path / "m.png"), mask)


def test_rgb_mask_is_converted_with_a_warning(tmp_path):
    mask = np.zeros((20, 30), np.uint8)
    mask[2:8, 3:9] = 1
    mask[10:15, 10:25] = 2
    rgb = colorize(mask)
    rgb[0, 0] = (10, 200, 30)  # a colour not in the palette gets a fresh label
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    with pytest.warns(UserWarning, match="RGB image"):
        out = read_index_mask(tmp_path / "rgb.png")
    np.testing.assert_array_equal(out[1:], mask[1:])
    assert out[0, 0] not in (0, 1, 2)


def test_photo_is_not_a_mask(tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(tmp_path / "photo.png")
    with pytest.raises(MaskError, match="distinct colours"):
        read_index_mask(tmp_path / "photo.png")


def test_mask_shape_message():
    with pytest.raises(MaskError, match="mask is 100x50 .* the frame is 480x854"):
        check_mask_shape(np.zeros((100, 50), np.uint8), (480, 854))


def test_overlay_tints_objects_only():
    frame = np.full((10, 10, 3), 100, np.uint8)
    mask = np.zeros((10, 10), np.uint8)
    mask[3:7, 3:7] = 1
    out = overlay(frame, mask, alpha=0.5)
    assert (out[0, 0] == 100).all()
    assert tuple(out[5, 5]) == (114, 50, 50)  # halfway to palette colour (128, 0, 0)
    assert tuple(out[3, 3]) == (128, 0, 0)  # contour in the object's colour
