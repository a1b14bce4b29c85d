"""Reading clips (streaming) and writing the result formats; clear errors on bad files."""

from __future__ import annotations

import importlib.util
import subprocess

import av
import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from xmem_demo.errors import MaskError, VideoError
from xmem_demo.palette import colorize
from xmem_demo.resources import EXAMPLE_CLIP

HAS_DECORD = importlib.util.find_spec("decord") is not None
needs_decord = pytest.mark.skipif(not HAS_DECORD, reason="decord is not installed (the optional accelerator)")
# Every decoder this machine has: tests that read video files run once per decoder.
DECODERS = ["pyav", "decord"] if HAS_DECORD else ["pyav"]


@pytest.fixture(params=DECODERS)
def decoder(request, monkeypatch):
    """Run the test with $XMEM_DEMO_VIDEO_DECODER set to each available decoder."""
    monkeypatch.setenv("XMEM_DEMO_VIDEO_DECODER", request.param)
    return request.param
from xmem_demo.video import (
    MP4_ENCODERS,
    DamagedVideoReader,
    DecordReader,
    FrameFolderReader,
    GifReader,
    Mp4Writer,
    PyAVReader,
    VideoInfo,
    check_mask_shape,
    choose_reader,
    mp4_encoder,
    video_decoder,
    open_video,
    read_index_mask,
    resize_short_side,
    working_shape,
    write_index_mask,
    write_mask_sequence,
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


@pytest.fixture(scope="module")
def mp4(tmp_path_factory):
    """A 7-frame 49x35 clip (odd size: padded to 50x36) at 12 fps."""
    path = tmp_path_factory.mktemp("mp4") / "v.mp4"
    with Mp4Writer(path, fps=12) as w:
        for f in gradient_frames():
            w.write(f[:35, :49])
    return path


def test_mp4_writer_makes_browser_playable_h264(mp4):
    assert mp4_encoder() == "libx264" == MP4_ENCODERS[0]  # PyAV's wheels bundle libx264
    with av.open(str(mp4)) as container:  # probed by PyAV and by a separate ffmpeg executable
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.width, stream.height) == (50, 36) and float(stream.average_rate) == pytest.approx(12)
    reader = imageio_ffmpeg.read_frames(str(mp4))
    meta = next(reader)
    reader.close()
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p")
    assert meta["size"] == (50, 36) and meta["fps"] == pytest.approx(12)
    data = mp4.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")  # +faststart: the index comes first


def test_mp4_round_trip(mp4, decoder):
    frames = gradient_frames()
    with open_video(mp4) as src:
        assert src.info == VideoInfo(str(mp4), 7, src.info.fps, 50, 36, "video")
        assert src.info.fps == pytest.approx(12) and len(src) == 7
        for t in (0, 3, 6):
            frame = src.get(t)
            assert frame.shape == (36, 50, 3) and frame.dtype == np.uint8
            assert np.abs(frame[:35, :49].astype(int) - frames[t][:35, :49]).mean() < 6
        with pytest.raises(IndexError):
            src.get(7)


def test_mp4_streams_with_start_stop_step(mp4, decoder):
    with open_video(mp4) as src:
        everything = [src.get(i) for i in range(len(src))]
        it = src.iter_frames(start=1, stop=7, step=2, batch=2)
        assert not isinstance(it, list)  # a generator: frames are decoded as they are asked for
        streamed = list(it)
        assert len(streamed) == 3
        for got, i in zip(streamed, (1, 3, 5), strict=True):
            np.testing.assert_array_equal(got, everything[i])
        assert len(list(src.iter_frames(stop=100))) == 7  # stop past the end is clipped
        assert list(src.iter_frames(start=5, stop=5)) == []
        with pytest.raises(ValueError):
            list(src.iter_frames(step=0))


def test_mp4_writer_accepts_gray_and_rejects_size_changes(tmp_path, decoder):
    with Mp4Writer(tmp_path / "g.mp4", fps=5) as w:
        w.write(np.full((16, 16), 200, np.uint8))
        with pytest.raises(ValueError, match="differs"):
            w.write(np.zeros((20, 16, 3), np.uint8))
    with open_video(tmp_path / "g.mp4") as src:
        first, again = src.get(0), src.get(0)  # a one-frame clip can be read twice
        assert len(src) == 1 and first.shape == (16, 16, 3) and abs(int(first.mean()) - 200) < 5
        np.testing.assert_array_equal(first, again)


def test_narrow_video_is_read_through_pyav_with_either_decoder(tmp_path, mp4, decoder):
    # decord returns mis-strided frames for some narrow widths (16, 48, ...); PyAV takes over.
    with open_video(mp4) as src:
        assert src.backend == decoder
    with Mp4Writer(tmp_path / "n.mp4", fps=10) as w:
        for t in range(25):
            w.write(np.full((20, 48, 3), 8 * t, np.uint8))
    with open_video(tmp_path / "n.mp4") as src:
        assert src.backend == "pyav" and (len(src), src.info.width, src.info.height) == (25, 48, 20)
        for t in (0, 24, 3, 4, 10, 2, 23):  # jumps back and forth, short steps forward
            frame = src.get(t)
            assert frame.shape == (20, 48, 3) and abs(frame.mean() - 8 * t) < 3, t
        assert [round(f.mean() / 8) for f in src.iter_frames(start=1, step=6)] == [1, 7, 13, 19]


def test_frame_folder_natural_order_and_streaming(tmp_path):
    for i, f in enumerate(gradient_frames(n=11)):
        Image.fromarray(f).save(tmp_path / f"frame{i}.png")
    (tmp_path / "notes.txt").write_text("not a frame")
    src = open_video(tmp_path)
    assert len(src) == 11 and src.info.kind == "frames" and (src.info.width, src.info.height) == (50, 36)
    assert src.get(10)[0, 0, 0] == 30 * 10 % 256  # frame10 after frame9, not after frame1
    reds = [int(f[0, 0, 0]) for f in src.iter_frames(start=2, stop=9, step=3)]
    assert reds == [60, 150, 240]


def test_jpeg_folder(tmp_path):
    for i, f in enumerate(gradient_frames(n=3)):
        Image.fromarray(f).save(tmp_path / f"{i:05d}.jpg", quality=95)
    with open_video(tmp_path) as src:
        assert len(src) == 3 and np.abs(src.get(1).astype(int) - gradient_frames(n=3)[1]).mean() < 4


def test_frame_folder_with_a_broken_or_odd_sized_frame(tmp_path):
    frames = gradient_frames(n=3)
    Image.fromarray(frames[0]).save(tmp_path / "0.png")
    Image.fromarray(frames[1][:20]).save(tmp_path / "1.png")
    (tmp_path / "2.png").write_bytes(b"not a png")
    src = open_video(tmp_path)
    with pytest.raises(VideoError, match="1.png"):
        src.get(1)
    with pytest.raises(VideoError, match="2.png"):
        src.get(2)


def test_gif(tmp_path):
    frames = [Image.fromarray(f) for f in gradient_frames(n=4)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:], duration=50)
    with open_video(tmp_path / "a.gif") as src:
        assert len(src) == 4 and src.info.kind == "gif" and src.info.fps == pytest.approx(20)
        assert src.get(2).shape == (36, 50, 3)
        reds = [int(f[0, 0, 0]) for f in src.iter_frames(start=1)]
        assert reds == pytest.approx([30, 60, 90], abs=4)  # GIF quantises colours
        assert int(src.get(0)[0, 0, 0]) <= 4  # seeking backwards works


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("clip.xyz", b"abc", r"'clip.xyz': unsupported file type '.xyz'; supported: .mp4, .mov"),
        ("clip", b"abc", "unsupported file type"),
        ("clip.mp4", b"", "'clip.mp4': the file is empty"),
        ("clip.mp4", np.random.default_rng(0).bytes(5000), "'clip.mp4': (cannot decode|no frame of this file can be decoded)"),
        ("clip.webm", b"\x1a\x45\xdf\xa3garbage" * 50, "'clip.webm': (cannot decode|no frame of this file can be decoded)"),
        ("clip.gif", b"GIF89a-not-really", "'clip.gif': cannot read this GIF"),
    ],
)
def test_bad_files_give_a_video_error_naming_the_file(tmp_path, name, content, message, decoder):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(VideoError, match=message):
        open_video(tmp_path / name)


def test_truncated_mp4(tmp_path, mp4, decoder):
    data = mp4.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 3])
    with pytest.raises(VideoError, match="cut.mp4"), open_video(tmp_path / "cut.mp4") as src:
        list(src.iter_frames())


def test_zero_frame_video(tmp_path, decoder):
    path = tmp_path / "none.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", "color=c=black:s=32x32:r=5",
         "-frames:v", "0", "-c:v", "libx264", str(path)],
        check=True,
    )
    with pytest.raises(VideoError, match="'none.mp4': .*no frames"):
        open_video(path)


def test_missing_file_and_empty_folder(tmp_path):
    with pytest.raises(VideoError, match="nope.mp4.*not found"):
        open_video(tmp_path / "nope.mp4")
    (tmp_path / "readme.txt").write_text("no frames here")
    with pytest.raises(VideoError, match="no .jpg/.jpeg/.png frames"):
        open_video(tmp_path)
    assert issubclass(VideoError, ValueError) and issubclass(MaskError, ValueError)


def test_working_shape_and_resize():
    assert working_shape(480, 854, 240) == (240, 427)
    assert working_shape(854, 480, 240) == (427, 240)
    assert working_shape(480, 854, -1) == working_shape(480, 854, None) == (480, 854)
    assert working_shape(100, 150, 480) == (480, 720)
    frame = np.zeros((100, 200, 3), np.uint8)
    assert resize_short_side(frame, 50).shape == (50, 100, 3)
    assert resize_short_side(frame, 200).shape == (200, 400, 3)
    assert resize_short_side(frame, None) is frame
    flat = np.full((10, 20, 3), 77, np.uint8)
    assert (resize_short_side(flat, 5) == 77).all() and (resize_short_side(flat, 30) == 77).all()


def test_palette_png_round_trip(tmp_path):
    mask = np.zeros((20, 30), np.uint8)
    mask[2:8, 3:9] = 1
    mask[10:15, 10:25] = 200
    write_index_mask(tmp_path / "m.png", mask)
    with Image.open(tmp_path / "m.png") as im:
        assert im.mode == "P" and im.getpalette()[:9] == [0, 0, 0, 128, 0, 0, 0, 128, 0]
    np.testing.assert_array_equal(read_index_mask(tmp_path / "m.png"), mask)
    with pytest.raises(MaskError, match="255"):
        write_index_mask(tmp_path / "big.png", np.full((2, 2), 300))


def test_mask_sequence_is_davis_style(tmp_path):
    masks = [np.full((4, 5), i, np.uint8) for i in range(3)]
    paths = write_mask_sequence(tmp_path / "seq", masks, start_index=10)
    assert [p.name for p in paths] == ["00010.png", "00011.png", "00012.png"]
    assert read_index_mask(paths[2]).tolist() == masks[2].tolist()


def test_grayscale_mask_keeps_values(tmp_path):
    mask = np.zeros((8, 8), np.uint8)
    mask[2:4, 2:4] = 3
    Image.fromarray(mask, mode="L").save(tmp_path / "g.png")
    np.testing.assert_array_equal(read_index_mask(tmp_path / "g.png"), mask)


def test_rgb_mask_is_converted_with_a_warning(tmp_path):
    mask = np.zeros((20, 30), np.uint8)
    mask[2:8, 3:9] = 1
    mask[10:15, 10:25] = 2
    rgb = colorize(mask)
    rgb[0, 1] = (10, 200, 30)  # colours not in the palette get fresh labels in order of appearance
    rgb[0, 0] = (255, 255, 255)
    Image.fromarray(rgb).convert("RGBA").save(tmp_path / "rgb.png")
    with pytest.warns(UserWarning, match="RGB image"):
        out = read_index_mask(tmp_path / "rgb.png")
    np.testing.assert_array_equal(out[1:], mask[1:])
    assert out[0, 0] == 3 and out[0, 1] == 4  # white first, then green; 1 and 2 are taken


def test_unreadable_and_photo_masks(tmp_path):
    with pytest.raises(MaskError, match="not found"):
        read_index_mask(tmp_path / "none.png")
    with pytest.raises(MaskError, match="is a folder; give a PNG file"):
        read_index_mask(tmp_path)
    (tmp_path / "bad.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(MaskError, match="bad.png"):
        read_index_mask(tmp_path / "bad.png")
    photo = np.random.default_rng(0).integers(0, 255, (20, 20, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    with pytest.raises(MaskError, match="distinct colours"):
        read_index_mask(tmp_path / "photo.png")


def test_mask_shape_message():
    check_mask_shape(np.zeros((480, 854), np.uint8), (480, 854))
    with pytest.raises(MaskError, match="mask is 100x50 but the frame is 480x854"):
        check_mask_shape(np.zeros((100, 50), np.uint8), (480, 854))


# ---- which reader decodes what (video/choose.py) ---------------------------------------------
@pytest.fixture(scope="module")
def one_clip_of_each_kind(tmp_path_factory, mp4):
    """The same 7 gradient frames as a folder, a GIF and an MP4, plus a narrow MP4 that decord
    mis-strides and truncated MP4s: one file for each reader."""
    root = tmp_path_factory.mktemp("kinds")
    frames = gradient_frames()
    (root / "folder").mkdir()
    for i, f in enumerate(frames):
        Image.fromarray(f).save(root / "folder" / f"{i}.png")
    images = [Image.fromarray(f) for f in frames]
    images[0].save(root / "a.gif", save_all=True, append_images=images[1:], duration=50)
    with Mp4Writer(root / "narrow.mp4", fps=10) as w:
        for t in range(7):
            w.write(np.full((20, 48, 3), 8 * t, np.uint8))
    rng = np.random.default_rng(0)
    with Mp4Writer(root / "full.mp4", fps=10) as w:
        for _ in range(20):
            w.write(rng.integers(0, 255, (64, 80, 3), dtype=np.uint8))
    data = (root / "full.mp4").read_bytes()
    (root / "cut.mp4").write_bytes(data[: int(len(data) * 0.6)])
    (root / "tail.mp4").write_bytes(data[: len(data) - len(data) // 50])  # ~half the last frame's bytes gone
    return {"folder": root / "folder", "gif": root / "a.gif", "mp4": mp4, "narrow": root / "narrow.mp4",
            "cut": root / "cut.mp4", "tail": root / "tail.mp4"}


READER_OF_DECODER = {"pyav": (PyAVReader, "pyav"), "decord": (DecordReader, "decord")}


@pytest.mark.parametrize("kind, reader_type, backend", [
    ("folder", FrameFolderReader, "pillow"),
    ("gif", GifReader, "pillow"),
    ("mp4", None, None),  # the chosen decoder's reader
    ("narrow", PyAVReader, "pyav"),
    ("cut", DamagedVideoReader, "opencv"),
])
def test_the_chooser_picks_one_reader_per_kind_of_file(one_clip_of_each_kind, kind, reader_type, backend, decoder):
    if reader_type is None:
        reader_type, backend = READER_OF_DECODER[decoder]
    reader = choose_reader(one_clip_of_each_kind[kind])
    try:
        assert type(reader) is reader_type and reader.backend == backend
        assert (reader.damage is not None) == (kind == "cut")  # only a damaged file says so
        n = reader.info.num_frames
        assert (n == 7) if kind != "cut" else (0 < n < 20)
        # every reader keeps the same contract: a batch is the frames one by one, H x W x 3 uint8
        indices = [0, 1, n - 1]
        one_by_one = [reader.get(i) for i in indices]
        assert all(f.dtype == np.uint8 and f.shape == (reader.info.height, reader.info.width, 3) for f in one_by_one)
        for got, want in zip(reader.get_batch(indices), one_by_one, strict=True):
            np.testing.assert_array_equal(got, want)
    finally:
        reader.close()


@needs_decord
def test_decord_mis_strides_a_narrow_video_and_pyav_reads_it_with_the_same_count_and_rate(one_clip_of_each_kind):
    path = one_clip_of_each_kind["narrow"]
    probe = DecordReader(path)
    assert probe.mis_strided  # why the chooser turns to PyAV for this file
    count, fps = probe.info.num_frames, probe.info.fps
    probe.close()
    assert not DecordReader(one_clip_of_each_kind["mp4"]).mis_strided
    reader = PyAVReader(path)
    assert (reader.info.num_frames, reader.info.fps, reader.info.width, reader.info.height) == (count, fps, 48, 20)
    assert (count, fps) == (7, pytest.approx(10))
    reader.close()


def test_the_chooser_only_skips_the_end_check_when_asked(one_clip_of_each_kind, decoder):
    """check_end=True decodes the last frame at open, so a file cut short at its end is read as
    damaged at once; without it the decoder takes the file whole (for clips already checked once)."""
    tail = one_clip_of_each_kind["tail"]
    checked = choose_reader(tail, check_end=True)
    assert type(checked) is DamagedVideoReader and checked.info.num_frames < 20 and "of the 20" in checked.damage
    checked.close()
    lazy = choose_reader(tail, check_end=False)
    assert type(lazy) is READER_OF_DECODER[decoder][0] and lazy.info.num_frames == 20 and lazy.damage is None
    lazy.close()


@pytest.mark.parametrize("name, content, message", [
    ("clip.txt", b"abc", "unsupported file type '.txt'"),
    ("clip.mp4", b"", "the file is empty"),
    ("clip.gif", b"GIF89a-not-really", "cannot read this GIF"),
    ("clip.mp4", np.random.default_rng(0).bytes(5000), "no frame of this file can be decoded"),
])
def test_the_chooser_refuses_what_no_reader_can_decode(tmp_path, name, content, message, decoder):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(VideoError, match=f"'{name}': {message}"):
        choose_reader(tmp_path / name)
    with pytest.raises(VideoError, match="not found"):
        choose_reader(tmp_path / "missing.mp4")


# ---- PyAV (the default) and decord (the accelerator) give the same frames --------------------
@needs_decord
def test_pyav_and_decord_decode_the_bundled_clip_byte_for_byte_alike():
    pyav, decord = PyAVReader(EXAMPLE_CLIP), DecordReader(EXAMPLE_CLIP)
    try:
        assert pyav.info == decord.info  # frame count, fps, size
        everything = list(range(pyav.info.num_frames))
        for a, b in zip(pyav.get_batch(everything), decord.get_batch(everything), strict=True):
            np.testing.assert_array_equal(a, b)
        for i in (40, 3, 61, 0, 17, 18, 35):  # random access: seeks back and forth
            np.testing.assert_array_equal(pyav.get(i), decord.get(i))
    finally:
        pyav.close()
        decord.close()


@pytest.mark.parametrize("gop", [1, 5, 250])  # every frame a keyframe; short and long keyframe intervals (B-frames)
def test_pyav_random_access_equals_decoding_in_order(tmp_path, gop):
    """Frame i by seeking is frame i of a plain sequential decode, in any order of access."""
    path = tmp_path / "noise.mp4"
    rng = np.random.default_rng(gop)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25, options={"g": str(gop), "bf": "2"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(40):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with av.open(str(path)) as container:
        in_order = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(in_order) == 40
    reader = PyAVReader(path)
    try:
        assert reader.info.num_frames == 40 and reader.info.fps == pytest.approx(25)
        for i in (39, 0, 20, 21, 22, 5, 38, 1, 30, 12):
            np.testing.assert_array_equal(reader.get(i), in_order[i], err_msg=f"frame {i}")
        for got, want in zip(reader.get_batch(range(7, 40, 4)), in_order[7:40:4], strict=True):
            np.testing.assert_array_equal(got, want)
    finally:
        reader.close()


def test_the_decoder_is_pyav_without_decord_and_the_variable_is_checked(monkeypatch):
    monkeypatch.setenv("XMEM_DEMO_VIDEO_DECODER", "pyav")
    assert video_decoder() == "pyav"
    monkeypatch.setenv("XMEM_DEMO_VIDEO_DECODER", "auto")
    assert video_decoder() == ("decord" if HAS_DECORD else "pyav")
    monkeypatch.setenv("XMEM_DEMO_VIDEO_DECODER", "ffmpeg")
    with pytest.raises(VideoError, match="XMEM_DEMO_VIDEO_DECODER='ffmpeg': give one of auto, pyav, decord"):
        video_decoder()
    if not HAS_DECORD:
        monkeypatch.setenv("XMEM_DEMO_VIDEO_DECODER", "decord")
        with pytest.raises(VideoError, match="decord is not installed"):
            video_decoder()
