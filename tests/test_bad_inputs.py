"""Bad input, case by case, across the CLI, the Python API, checkpoint loading, weights downloads
and the app's checks: each gives one specific message (exit code 2 on the command line), starts
no work and leaves nothing behind. Every case is also a row of docs/bad_inputs.md
(tests/bad_inputs_table.py writes it when XMEM_DEMO_WRITE_BAD_INPUTS=1).
"""

from __future__ import annotations

import os
import re
import time
import zlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from xmem_demo import MemoryConfig, ModelConfig, XMem
from xmem_demo.checkpoint import CheckpointError, load_model
from xmem_demo.clicks import Click, GrabCutSegmenter
from xmem_demo.errors import InputError, MaskError, UserError
from xmem_demo.outdir import OutputDir
from xmem_demo.pipeline import ArraySource, track
from xmem_demo.session import InferenceSession
from xmem_demo.video import write_index_mask
from xmem_demo.weights import WeightsError, resolve_model

from . import bad_inputs_table as table
from .conftest import TINY
from .support import (H, W, QuietHandler, Segment, flags, run_cli, save_tiny_checkpoint, server_url, square_frames,
                      square_mask, weights_host, write_clip)

T = 6
ROOT: list[str] = []  # the module's temporary folder, shown as <tmp> in the table
ROOT_PATH: list[Path] = []


def scrub(text: str) -> str:
    for root in ROOT:
        text = text.replace(root, "<tmp>")
    return text


@pytest.fixture(scope="module", autouse=True)
def write_table():
    yield
    table.write_if_asked()


@pytest.fixture(scope="module")
def f(tmp_path_factory):
    """Inputs: a tiny clip, masks, checkpoints, and a few broken files."""
    root = tmp_path_factory.mktemp("bad")
    ROOT.append(str(root))
    ROOT_PATH.append(root)
    write_clip(root / "clip.mp4", square_frames(T))
    write_clip(root / "tiny8.mp4", [np.zeros((8, 8, 3), np.uint8)] * 3)
    mask = square_mask()
    write_index_mask(root / "mask.png", mask)
    Image.fromarray(mask * 255).save(root / "mask.jpg", quality=90)
    write_index_mask(root / "small.png", np.ones((10, 10), np.uint8))
    write_index_mask(root / "zeros.png", np.zeros((H, W), np.uint8))
    write_index_mask(root / "void.png", np.where(mask > 0, 255, 0).astype(np.uint8))
    many = np.zeros((H, W), np.uint8)
    for i in range(25):
        many[(i // 8) * 6 : (i // 8) * 6 + 5, (i % 8) * 8 : (i % 8) * 8 + 6] = i + 1
    write_index_mask(root / "many.png", many)
    (root / "text.png").write_text("not an image")
    (root / "random.mp4").write_bytes(np.random.default_rng(0).bytes(5000))
    (root / "empty.mp4").write_bytes(b"")
    (root / "clip.xyz").write_bytes(b"123")
    (root / "noframes").mkdir()
    (root / "afile").write_text("x")
    model = save_tiny_checkpoint(root / "tiny.pth")
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    key = next(k for k, v in sd.items() if v.is_floating_point() and v.numel() > 1)
    sd[key][0] = float("nan")
    save_checkpoint_dict(root / "nan.pth", model, sd)
    sd[key][0] = float("inf")
    save_checkpoint_dict(root / "inf.pth", model, sd)
    data = (root / "tiny.pth").read_bytes()
    (root / "truncated.pth").write_bytes(data[: len(data) // 2])
    (root / "zeros.pth").write_bytes(b"\x00" * 100)
    (root / "empty.pth").write_bytes(b"")
    torch.save({"layer.weight": torch.zeros(2)}, root / "other_net.pth")
    torch.save({"x": _Evil()}, root / "pickle.pth")
    (root / "folder.pth").mkdir()
    # decompression bombs: headers declaring huge images, a few bytes of data
    gif_declaring(root / "bomb.gif", 65535, 65535)
    (root / "bombframes").mkdir()
    png_declaring(root / "bombframes" / "00000.png", 30000, 30000)
    png_declaring(root / "bombmask.png", 30000, 30000)
    png_declaring(root / "justover.png", 8193, 8192)  # one column over the limit
    for name in ("fifo.png", "fifo.mp4", "fifo.pth"):
        os.mkfifo(root / name)
    (root / "fifoframes").mkdir()
    os.mkfifo(root / "fifoframes" / "00000.png")
    for name, sizes in (("mixed", [(H, W), (H - 8, W)]), ("blank", [(H, W)] * 3)):
        for part in ("gt", "pred"):
            (root / name / part / "seq").mkdir(parents=True)
            for i, (h, w) in enumerate(sizes):
                write_index_mask(root / name / part / "seq" / f"{i:05d}.png", np.ones((h, w), np.uint8) * (name == "mixed"))
    data = bytearray((root / "tiny.pth").read_bytes())
    data[data.index(b"data/0") + 4000] ^= 0x01  # one bit, inside the first tensor's record
    (root / "flipped.pth").write_bytes(bytes(data))
    return root


def png_declaring(path: Path, w: int, h: int) -> None:
    """A PNG whose header declares w x h pixels, with almost no data (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    ihdr = w.to_bytes(4, "big") + h.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))


def gif_declaring(path: Path, w: int, h: int) -> None:
    """A 35-byte GIF declaring w x h pixels."""
    size = w.to_bytes(2, "little") + h.to_bytes(2, "little")
    path.write_bytes(b"GIF89a" + size + b"\x00\x00\x00" + b"\x2c\x00\x00\x00\x00" + size + b"\x00\x02\x02\x44\x01\x00\x3b")


@dataclass(frozen=True)
class Raw:
    """Any command line, `{f}` standing for the module's folder."""

    words: tuple[str, ...]

    def argv(self, f: Path) -> list[str]:
        return [w.format(f=f) for w in self.words]


class _Evil:
    """A pickled object: weights_only loading must refuse it (it could run code)."""


def save_checkpoint_dict(path: Path, model: XMem, state: dict) -> None:
    torch.save({"format": "xmem-demo", "model_config": model.config.to_dict(), "state_dict": state}, path)


# ---- the command line -----------------------------------------------------------------------
CLI_CASES = {
    # id: (the command, expected text, what the table calls the input)
    "missing video": (Segment(video="nope.mp4"), "not found", "a video that does not exist"),
    "unknown type": (Segment(video="clip.xyz"), "unsupported file type", "clip.xyz (unknown file type)"),
    "random bytes": (Segment(video="random.mp4"), "random.mp4", "random bytes named .mp4"),
    "empty video": (Segment(video="empty.mp4"), "the file is empty", "a 0-byte .mp4"),
    "empty folder": (Segment(video="noframes"), "holds no", "a folder without frames"),
    "tiny clip": (Segment(video="tiny8.mp4"), "at least 16x16", "an 8x8 pixel clip"),
    "missing mask": (Segment(mask="nope.png"), "not found", "--mask that does not exist"),
    "jpeg mask": (Segment(mask="mask.jpg"), "is a JPEG", "--mask mask.jpg (lossy JPEG)"),
    "mask size": (Segment(mask="small.png"), "mask is 10x10", "--mask of another size (10x10)"),
    "empty mask": (Segment(mask="zeros.png"), "has no object", "--mask with only 0"),
    "void-only mask": (Segment(mask="void.png"), "or void", "--mask (palette) with only 0 and 255 (void)"),
    "too many objects": (Segment(mask="many.png"), "at most 20", "--mask with 25 objects"),
    "mask is text": (Segment(mask="text.png"), "cannot read mask", "--mask: a text file named .png"),
    "mask is folder": (Segment(mask="noframes"), "is a folder", "--mask: a folder"),
    "mask frame 99": (flags("--mask-frame", "99"), "--mask-frame 99", "--mask-frame 99 (clip has 6)"),
    "mask frame -1": (flags("--mask-frame", "-1"), "--mask-frame -1", "--mask-frame -1"),
    "size 0": (flags("--size", "0"), "--size 0", "--size 0"),
    "size -5": (flags("--size", "-5"), "--size -5", "--size -5"),
    "size huge": (flags("--size", "100000"), "exceeds the limit", "--size 100000"),
    "size too big for clip": (flags("--size", "1300"), "exceed the limit", "--size 1300 on a 4:3 clip (1300x1733 working)"),
    "size text": (flags("--size", "big"), "invalid int value", "--size big"),
    "device cuda": (flags("--device", "cuda"), "no CUDA GPU", "--device cuda (no GPU)"),
    "device gpu0": (flags("--device", "gpu0"), "not a device name", "--device gpu0"),
    "device mps": (flags("--device", "mps"), "MPS is not available", "--device mps (not a Mac)"),
    "precision int8": (flags("--precision", "int8"), "invalid choice", "--precision int8"),
    "precision fp16 cpu": (flags("--precision", "fp16", "--device", "cpu"), "needs a CUDA GPU", "--precision fp16 on CPU"),
    "mem-every 2.5": (flags("--mem-every", "2.5"), "invalid int value", "--mem-every 2.5"),
    "mem-every 0": (flags("--mem-every", "0"), "mem_every (r) must be >= 1", "--mem-every 0"),
    "T_max <= T_min": (flags("--max-mid-term-frames", "2"), "T_max", "--max-mid-term-frames 2 (T_min 5)"),
    "top-k 0": (flags("--top-k", "0"), "top_k must be >= 1", "--top-k 0"),
    "P 0": (flags("--num-prototypes", "0"), "num_prototypes (P)", "--num-prototypes 0"),
    "void label": (flags("--void-label", "abc"), "--void-label 'abc'", "--void-label abc"),
    "out is file": (Segment(out="afile"), "is an existing file", "--out an existing file"),
    "out under file": (Segment(out="afile/sub"), "which is a file", "--out a path under a file"),
    "out unwritable": (Segment(out="/proc/xmem-out", weights=None), "cannot write into", "--out /proc/xmem-out (not writable)"),
    "probs folder": (flags("--save-probs", "{f}"), "is a folder", "--save-probs an existing folder"),
    "probs no folder": (flags("--save-probs", "{f}/no/p.npz"), "does not exist", "--save-probs in a missing folder"),
    "probs suffix": (flags("--save-probs", "{f}/p.txt"), "must end in .npz", "--save-probs p.txt"),
    "probs unwritable": (flags("--save-probs", "/proc/p.npz"), "cannot write into", "--save-probs /proc/p.npz"),
    "weights name": (Segment(weights="xmem-large"), "unknown weights 'xmem-large'", "--weights xmem-large"),
    "weights missing": (Segment(weights="nope.pth"), "not found", "--weights a missing .pth"),
    "weights folder": (Segment(weights="folder.pth"), "is a folder", "--weights a folder"),
    "weights zeros": (Segment(weights="zeros.pth"), "cannot load checkpoint", "--weights 100 zero bytes"),
    "weights NaN": (Segment(weights="nan.pth"), "NaN or Inf", "--weights with a NaN tensor"),
    "weights truncated": (Segment(weights="truncated.pth"), "corrupt or truncated", "--weights cut in half"),
    "weights other net": (Segment(weights="other_net.pth"), "not an XMem checkpoint", "--weights of another network"),
    "weights pickle": (Segment(weights="pickle.pth"), "arbitrary code execution", "--weights holding a pickled object"),
    "weights flipped": (Segment(weights="flipped.pth"), "fails its CRC32 check", "--weights with one bit flipped inside its zip"),
    "weights fifo": (Segment(weights="fifo.pth"), "not a regular file", "--weights a FIFO (named pipe)"),
    "bomb gif": (Segment(video="bomb.gif"), "declares 4,294,836,225 pixels (4,295 MP)", "a 35-byte GIF declaring 65535x65535"),
    "bomb frame": (Segment(video="bombframes"), "declares 900,000,000 pixels", "a frame folder whose PNG declares 30000x30000"),
    "bomb mask": (Segment(mask="bombmask.png"), "declares 900,000,000 pixels", "--mask: a PNG declaring 30000x30000"),
    "just over": (Segment(mask="justover.png"), "at most 67 MP", "--mask: a PNG of 8193x8192 (just over the limit)"),
    "fifo mask": (Segment(mask="fifo.png"), "is a FIFO (named pipe), not a regular file", "--mask a FIFO (used to block forever)"),
    "fifo video": (Segment(video="fifo.mp4"), "is a FIFO (named pipe)", "a video that is a FIFO"),
    "fifo frame": (Segment(video="fifoframes"), "is a FIFO (named pipe), device or socket", "a frame folder whose 00000.png is a FIFO"),
    "device video": (Segment(video="/dev/zero"), "is a device or socket", "/dev/zero as the video"),
    "eval mixed sizes": (Raw(("eval", "{f}/mixed/pred", "{f}/mixed/gt")), "mixes frame sizes",
                         "eval: ground truth with frames of two sizes"),
    "eval empty gt": (Raw(("eval", "{f}/blank/pred", "{f}/blank/gt")), "has no object",
                      "eval: ground truth with no object (printed nan)"),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_bad_input(f, case, capsys):
    command, expected, label = CLI_CASES[case]
    argv = command.argv(f)
    out_dirs = [Path(argv[i + 1]) for i, a in enumerate(argv) if a == "--out"]
    existed = {p: p.exists() for p in out_dirs}
    run = run_cli(argv, capsys)
    assert run.code == 2, run.err
    assert run.err.startswith("xmem-demo: error:"), run.err  # nothing on stderr before the error
    assert run.error.startswith("xmem-demo: error:"), run.err
    assert expected in run.error, run.error
    assert "Traceback" not in run.err
    for p, was in existed.items():  # a refused run creates no output folder
        assert p.exists() == was, p
    table.record("CLI", label, scrub(run.error), "exit 2, nothing written")


def test_cli_out_in_use_by_another_run(f, capsys):
    busy = f / "busy"
    with OutputDir(busy):
        run = run_cli(Segment(out="busy").argv(f), capsys)
    assert run.code == 2 and "in use by another xmem-demo run" in run.error and f"pid {os.getpid()}" in run.error
    assert not any((busy / "masks").iterdir())
    table.record("CLI", "--out held by a running xmem-demo", scrub(run.error), "exit 2, the other run's files untouched")


def test_cli_official_weights_offline(f, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("XMEM_DEMO_OFFLINE", "1")
    monkeypatch.setenv("XMEM_DEMO_CACHE", str(tmp_path))
    run = run_cli(Segment(weights="xmem").argv(f), capsys)
    assert run.code == 2 and "XMEM_DEMO_OFFLINE=1" in run.error
    table.record("CLI", "--weights xmem, offline, not cached", scrub(run.error).replace(str(tmp_path), "<cache>"), "exit 2")


# ---- the Python API -------------------------------------------------------------------------
def _frames(n=3, h=H, w=W, dtype=np.uint8, scale=1):
    return [np.full((h, w, 3), 100 * scale, dtype) for _ in range(n)]


def _mask(h=H, w=W, n=1):
    m = np.zeros((h, w), np.uint8)
    for i in range(n):
        m[(i // 8) * 6 : (i // 8) * 6 + 5, (i % 8) * 8 : (i % 8) * 8 + 6] = i + 1
    return m


def _track(frames=_frames, mask=_mask, **kwargs):
    """track() on the tiny model over frames(), annotated on frame 0 with mask() (None: no
    annotation); both are made only when the case runs."""
    return lambda m: list(track(m, ArraySource(frames()), {0: mask()} if mask else {}, **kwargs))


API_CASES = {
    "float frames 0..255": (_track(partial(_frames, dtype=np.float32)), InputError, "looks like 0..255",
                            "track(): float32 frames holding 0..255"),
    "grayscale frames": (_track(lambda: [np.zeros((H, W), np.uint8)] * 2), InputError, "H x W x 3",
                         "track(): H x W frames (no colour axis)"),
    "int16 frames": (_track(partial(_frames, dtype=np.int16)), InputError, "dtype int16", "track(): int16 frames"),
    "NaN frames": (_track(lambda: [np.full((H, W, 3), np.nan, np.float32)]), InputError, "NaN",
                   "track(): float frames with NaN"),
    "tiny frames": (_track(partial(_frames, h=4, w=4), partial(_mask, 4, 4)), InputError, "at least 16x16",
                    "track(): 4x4 frames"),
    "precision int8": (lambda m: InferenceSession(m, precision="int8"), InputError, "precision must be one of",
                       "InferenceSession(precision='int8')"),
    "mem_every 2.5": (lambda m: MemoryConfig(mem_every=2.5), ValueError, "mem_every must be a whole number",
                      "MemoryConfig(mem_every=2.5)"),
    "top_k True": (lambda m: MemoryConfig(top_k=True), ValueError, "top_k must be a whole number", "MemoryConfig(top_k=True)"),
    "native 4K": (_track(partial(_frames, 1, 2160, 3840), partial(_mask, 2160, 3840), working_size=None),
                  InputError, "exceed the limit", "track(working_size=None) on 3840x2160 frames"),
    "working_size 0": (_track(working_size=0), InputError, "at least 32", "track(working_size=0)"),
    "21 objects": (_track(mask=partial(_mask, n=21)), MaskError, "at most 20", "track() with 21 objects"),
    "float mask": (_track(mask=lambda: _mask().astype(np.float32)), MaskError, "holds floats", "track() with a float mask"),
    "mask size": (_track(mask=partial(_mask, 10, 10)), MaskError, "the mask for frame 0 is 10x10 but the frame is 48x64",
                  "track() with a 10x10 mask for 64x48 frames"),
    "mask stack": (_track(mask=lambda: _mask()[None]), MaskError, "must be an H x W index mask",
                   "track() with a 1 x H x W mask"),
    "config dict unknown key": (_track(config={"mem_evry": 5}), InputError, "unknown memory setting(s) ['mem_evry']",
                                "track(config={'mem_evry': 5}) (a misspelt field)"),
    "config list": (_track(config=[5]), InputError, "config must be a MemoryConfig (or a dict of its fields), got list",
                    "track(config=[5])"),
    "config dict bad value": (_track(config={"mem_every": 0}), InputError, "config: invalid MemoryConfig",
                              "track(config={'mem_every': 0})"),
    "session working_size 7": (lambda m: InferenceSession(m, working_size=7), InputError, "working_size 7: the short side must be at least 32",
                               "InferenceSession(working_size=7) (the CLI refuses < 32 too)"),
    "session working_size -5": (lambda m: InferenceSession(m, working_size=-5), InputError, "working_size -5",
                                "InferenceSession(working_size=-5)"),
    "session working_size text": (lambda m: InferenceSession(m, working_size="480"), InputError, "working_size must be a whole number",
                                  "InferenceSession(working_size='480')"),
    "session num_frames": (lambda m: InferenceSession(m, num_frames=-3), InputError, "num_frames must be >= 1",
                           "InferenceSession(num_frames=-3)"),
    "session config dict": (lambda m: InferenceSession(m, {"top_k": 0}), InputError, "config: invalid MemoryConfig: top_k",
                            "InferenceSession(model, {'top_k': 0})"),
    "string key": (lambda m: list(track(m, ArraySource(_frames()), {"0": _mask()})), InputError,
                   "annotations: key '0' is a str; keys are frame indices (int)", "track() with annotations {'0': mask}"),
    "annotations list": (lambda m: list(track(m, ArraySource(_frames()), [_mask()])), InputError,
                         "annotations must be a dict {frame index: H x W index mask}, got list", "track() with annotations [mask]"),
    "ragged list mask": (lambda m: list(track(m, ArraySource(_frames()), {0: [[0, 1], [1]]})), MaskError,
                         "not a rectangular array", "track() with a ragged nested-list mask"),
    "negative label": (_track(mask=lambda: -_mask().astype(np.int16)), MaskError, "holds negative labels (-1)",
                       "track() with label -1 in the mask"),
    "string mask": (lambda m: list(track(m, ArraySource(_frames()), {0: np.full((H, W), "a")})), MaskError,
                    "must be an array of integer labels, got dtype <U1", "track() with a mask of strings"),
    "start text": (_track(start="0"), InputError, "start must be a whole number", "track(start='0')"),
    "to_index_mask 2-D": (lambda m: _session_after_one_frame(m).to_index_mask(torch.rand(H, W)), InputError,
                          "prob must be the (K + 1) x H x W tensor `step` returned (K = 1 objects here)",
                          "session.to_index_mask(an H x W array)"),
    "resolve_model None": (lambda m: resolve_model(None), WeightsError, "weights must be a name (auto, mini, ",
                           "resolve_model(None)"),
    "resolve_model int": (lambda m: resolve_model(3), WeightsError, "got 3", "resolve_model(3)"),
    "click outside": (lambda m: GrabCutSegmenter().segment(_frames()[0], [Click(500, 500)]), InputError,
                      "click at x=500, y=500 lies outside the 64x48 frame", "GrabCutSegmenter().segment(frame, [Click(500, 500)])"),
    "click negative": (lambda m: GrabCutSegmenter().segment(_frames()[0], [Click(-1, 3)]), InputError,
                       "lies outside the 64x48 frame", "GrabCutSegmenter().segment(frame, [Click(-1, 3)])"),
    "empty annotations": (_track(mask=None), MaskError, "no annotation", "track() without annotations"),
}


def _session_after_one_frame(model):
    session = InferenceSession(model)
    session.step(_frames()[0], mask=_mask())
    return session


@pytest.mark.parametrize("case", list(API_CASES))
def test_api_bad_input(tiny_model, case, monkeypatch):
    monkeypatch.setenv("XMEM_DEMO_OFFLINE", "1")
    call, exc_type, expected, label = API_CASES[case]
    with pytest.raises(exc_type) as exc:
        call(tiny_model)
    assert expected in str(exc.value), str(exc.value)
    table.record("API", label, str(exc.value), f"raises {type(exc.value).__name__} before any frame is segmented")


# ---- checkpoint loading ---------------------------------------------------------------------
CKPT_CASES = {
    "empty.pth": ("file is empty", "a 0-byte file"),
    "zeros.pth": ("not a PyTorch checkpoint", "100 zero bytes"),
    "truncated.pth": ("corrupt or truncated", "a checkpoint cut in half"),
    "nan.pth": ("NaN or Inf", "a NaN in one tensor"),
    "inf.pth": ("NaN or Inf", "an Inf in one tensor"),
    "other_net.pth": ("not an XMem checkpoint", "another network's state_dict"),
    "pickle.pth": ("weights_only", "a pickled Python object"),
    "folder.pth": ("is a directory", "a folder"),
    "nope.pth": ("file not found", "a missing file"),
    "flipped.pth": ("fails its CRC32 check", "one bit flipped inside a tensor record"),
    "fifo.pth": ("not a regular file", "a FIFO"),
}


@pytest.mark.parametrize("name", list(CKPT_CASES))
def test_checkpoint_bad_file(f, name):
    expected, label = CKPT_CASES[name]
    with pytest.raises(CheckpointError) as exc:
        load_model(f / name)
    assert expected in str(exc.value), str(exc.value)
    table.record("checkpoint", f"load_model(): {label}", scrub(str(exc.value)), "raises CheckpointError")


def test_checkpoint_wrong_architecture(f, tmp_path):
    big = XMem(ModelConfig(**{**TINY, "key_dim": 32}))
    state = {"format": "xmem-demo", "model_config": ModelConfig(**TINY).to_dict(), "state_dict": big.state_dict()}
    torch.save(state, tmp_path / "mismatch.pth")
    with pytest.raises(CheckpointError, match="architecture does not match") as exc:
        load_model(tmp_path / "mismatch.pth")
    table.record("checkpoint", "load_model(): tensors of another size than its config",
                 str(exc.value).replace(str(tmp_path), "<tmp>")[:300], "raises CheckpointError")


# ---- weights downloads (a local HTTP server) --------------------------------------------------
class _Server(QuietHandler):
    files: dict[str, bytes] = {}

    def do_GET(self):  # noqa: N802
        name = self.path.rsplit("/", 1)[-1]
        body = self.files.get(name)
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            if name == "XMem-s012.pth":  # announce everything, send a third, hang up
                self.wfile.write(body[: len(body) // 3])
            elif name == "XMem-no-sensory.pth":  # a stalled server: headers, then silence
                time.sleep(3)
            elif name == "XMem-s2.pth":  # a trickle: one byte at a time
                for _ in range(40):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.1)
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture()
def server(f, tmp_path, monkeypatch):
    files = {"XMem.pth": (f / "nan.pth").read_bytes(), "XMem-s012.pth": (f / "tiny.pth").read_bytes(),
             "XMem-s2.pth": b"x" * 40, "XMem-no-sensory.pth": b"z" * 1000}
    with weights_host(type("H", (_Server,), {"files": files}), monkeypatch, tmp_path / "cache", "/v1/") as httpd:
        yield httpd, tmp_path / "cache"


DOWNLOAD_CASES = {
    # name, env, expected, label
    "nan": ("xmem", {}, "NaN or Inf", "a file with NaN weights"),
    "truncated": ("xmem-s012", {}, "incomplete", "a transfer cut at a third of its announced size"),
    "stall": ("xmem-no-sensory", {"XMEM_DEMO_DOWNLOAD_STALL_S": "1"}, "stalled", "a server that sends headers, then nothing (stall 1 s)"),
    "deadline": ("xmem-s2", {"XMEM_DEMO_DOWNLOAD_DEADLINE_S": "1"}, "did not finish within 1 s", "a trickle of a byte per 0.1 s (deadline 1 s)"),
    "unknown": ("xmem-large", {}, "unknown official weights", "an unknown name"),
}


@pytest.mark.parametrize("case", list(DOWNLOAD_CASES))
def test_download_bad_input(server, case, capsys, monkeypatch):
    httpd, cache = server
    name, env, expected, label = DOWNLOAD_CASES[case]
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    started = time.monotonic()
    run = run_cli(["download", name], capsys)
    seconds = time.monotonic() - started
    assert run.code == 2 and expected in run.error, run.error
    assert seconds < 10
    assert not list(cache.glob("*.part")) and not list(cache.glob("*.pth"))
    table.record("weights", f"xmem-demo download: {label}",
                 scrub(run.error).replace(server_url(httpd), "http://SERVER").replace(str(cache), "<cache>"),
                 "exit 2, no file in the cache, no .part left")


def test_download_offline_is_refused(server, capsys, monkeypatch):
    monkeypatch.setenv("XMEM_DEMO_OFFLINE", "1")
    run = run_cli(["download", "xmem"], capsys)
    assert run.code == 2 and "XMEM_DEMO_OFFLINE=1" in run.error
    table.record("weights", "xmem-demo download xmem with XMEM_DEMO_OFFLINE=1", run.error, "exit 2, nothing fetched")


def test_download_404(server, capsys):
    httpd, cache = server
    httpd.RequestHandlerClass.files = {}
    run = run_cli(["download", "xmem"], capsys)
    assert run.code == 2 and "HTTP 404" in run.error
    table.record("weights", "xmem-demo download: HTTP 404",
                 run.error.replace(server_url(httpd), "http://SERVER").replace(str(cache), "<cache>"), "exit 2")


def test_download_into_a_read_only_cache(server, capsys, monkeypatch):
    monkeypatch.setenv("XMEM_DEMO_CACHE", "/proc/xmem-cache")
    run = run_cli(["download", "xmem"], capsys)
    assert run.code == 2 and "cannot write to the weights cache" in run.error
    table.record("weights", "xmem-demo download with XMEM_DEMO_CACHE=/proc/xmem-cache (not writable)", run.error, "exit 2")


# ---- the app's checks (the functions behind its buttons; the HTTP API maps them to gr.Error) ---
@pytest.fixture(scope="module")
def app_files(f):
    write_clip(f / "wide.mp4", [np.zeros((16, 4112, 3), np.uint8)])  # 4112 x 16: longer than the 4096 the app takes
    write_clip(f / "uhd.mp4", [np.zeros((2160, 3840, 3), np.uint8)] * 2)  # 4K: accepted, but not at its own size
    write_clip(f / "2x2.mp4", [np.zeros((2, 2, 3), np.uint8)])
    m = np.zeros((H, W), np.uint8)
    m[5:20, 5:20] = 30
    write_index_mask(f / "label30.png", m)
    (f / "clip.txt").write_text("not a video")
    return f


def _app_clip(f, name="clip.mp4"):
    from xmem_demo.app.clip_tab.actions import load_clip
    from xmem_demo.app.clip_tab.state import AppState

    state = AppState()
    load_clip(state, f / name)
    return state


def _app_track(f, name, size):
    from xmem_demo.app.clip_tab.actions import apply_mask_upload
    from xmem_demo.app.clip_tab.tracking import TrackSettings, run_tracking

    state = _app_clip(f, name)
    state.session_dir = str(f / "app-session")
    h, w = state.clip.hw
    m = np.zeros((h, w), np.uint8)
    m[: h // 4, : w // 4] = 1
    write_index_mask(f / f"{name}.mask.png", m)
    apply_mask_upload(state, f / f"{name}.mask.png")
    list(run_tracking(state, TrackSettings(weights=str(f / "tiny.pth"), device="cpu", working_size=size)))


def _add_21_objects(f):
    from xmem_demo.app.clip_tab.state import AppState

    state = AppState()
    for _ in range(21):
        state.add_object()


def _load(name):
    """The app's 'load clip' on this file of the module's folder."""
    return lambda f: _app_clip(f, name)


def _upload(mask_name):
    """The app's 'upload mask' with this file, on the module's good clip."""

    def upload(f):
        from xmem_demo.app.clip_tab.actions import apply_mask_upload

        apply_mask_upload(_app_clip(f), f / mask_name)

    return upload


APP_CASES = {
    "missing": (_load("nope.mp4"), "was not found", "load a clip that does not exist"),
    "text": (_load("clip.txt"), "not a supported video", "load clip.txt"),
    "empty": (_load("empty.mp4"), "empty file", "load a 0-byte .mp4"),
    "random": (_load("random.mp4"), "no frame of this file can be decoded", "load random bytes named .mp4"),
    "2x2": (_load("2x2.mp4"), "at least 16×16", "load a 2x2 pixel clip"),
    "wide": (_load("wide.mp4"), "up to 4096×2160", "load a 4112x16 clip"),
    "jpeg mask": (_upload("mask.jpg"), "not a PNG index mask", "upload mask.jpg"),
    "mask size": (_upload("small.png"), "the mask 'small.png' is 10x10 but the frame is 48x64", "upload a 10x10 mask for a 64x48 clip"),
    "mask empty": (_upload("zeros.png"), "has no object", "upload an all-0 mask"),
    "mask label 30": (_upload("label30.png"), "labels 1..20", "upload a mask with label 30"),
    "mask 25 objects": (_upload("many.png"), "at most 20", "upload a mask with 25 objects"),
    "21 objects": (_add_21_objects, "at most 20 objects", "add a 21st object"),
    "bomb gif": (_load("bomb.gif"), "declares 4,294,836,225 pixels", "load a 35-byte GIF declaring 65535x65535"),
    "bomb mask": (_upload("bombmask.png"), "declares 900,000,000 pixels", "upload a mask PNG declaring 30000x30000"),
    "4K own size": (lambda f: _app_track(f, "uhd.mp4", -1), "exceed the limit", "Track a 4K clip at its own size (-1)"),
}


@pytest.mark.parametrize("case", list(APP_CASES))
def test_app_bad_input(app_files, case):
    call, expected, label = APP_CASES[case]
    with pytest.raises(UserError) as exc:  # errors.py's family (VideoError, MaskError, InputError...): shown as gr.Error
        call(app_files)
    assert expected in str(exc.value), str(exc.value)
    table.record("app", label, scrub(str(exc.value)), "message in the page (gr.Error), nothing started")


def test_the_committed_table_is_generated_and_large_enough():
    text = table.DOC.read_text()
    assert text.startswith("# What happens on bad input") and "Generated by `tests/test_bad_inputs.py`" in text
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and not ln.startswith("| input")]
    assert len(rows) >= 60
    assert {a for a in table.AREAS if f"## {a}" in text} >= {"CLI", "API", "checkpoint", "weights"}


# ---- weights you can trust (issue 20) ---------------------------------------------------------
def test_a_small_network_cached_as_xmem_is_named_unknown_not_official(f, tmp_path, monkeypatch, capsys):
    """1.3 MB served or placed as XMem.pth used to run as 'the official XMem weights'."""
    import shutil

    from xmem_demo import weights

    monkeypatch.setenv("XMEM_DEMO_CACHE", str(tmp_path))
    monkeypatch.setenv("XMEM_DEMO_OFFLINE", "1")
    shutil.copy(f / "tiny.pth", tmp_path / "XMem.pth")
    with pytest.raises(CheckpointError, match="not the official XMem network 'xmem' .XMem.pth.: an unknown network of") as exc:
        weights.resolve_model("xmem", allow_download=False)
    table.record("weights", "resolve_model('xmem') with a 1 MB network cached as XMem.pth",
                 str(exc.value).replace(str(tmp_path), "<cache>"), "raises CheckpointError, never announced as official")
    model, info = weights.resolve_model("auto")  # auto: moved aside, the offline default (lite) runs, and says why
    assert info.name == "lite" and "unknown network" in info.notice and not info.official
    run = run_cli(Segment(weights="xmem").argv(f), capsys)  # nothing cached now: refused up front
    assert run.code == 2


def test_a_small_network_served_as_xmem_is_not_kept(server, capsys):
    httpd, cache = server
    httpd.RequestHandlerClass.files = {"XMem.pth": (ROOT_PATH[0] / "tiny.pth").read_bytes()}
    run = run_cli(["download", "xmem"], capsys)
    assert run.code == 2 and "an unknown network of" in run.error and "it was not kept" in run.error
    assert not list(cache.glob("*.pth")) and not list(cache.glob("*.part"))
    table.record("weights", "xmem-demo download: a 1 MB network served as XMem.pth",
                 scrub(run.error).replace(server_url(httpd), "http://SERVER").replace(str(cache), "<cache>"),
                 "exit 2, no file in the cache")


def test_a_cached_file_changed_after_its_record_is_refused_even_with_its_mtime_restored(f, tmp_path, monkeypatch):
    from xmem_demo import weights

    monkeypatch.setenv("XMEM_DEMO_CACHE", str(tmp_path))
    target = tmp_path / "XMem.pth"
    target.write_bytes((f / "tiny.pth").read_bytes())
    weights.write_record(target, "test")
    weights.digest_of(target)  # hashed once: remembered
    st = target.stat()
    data = bytearray(target.read_bytes())
    data[-100] ^= 1
    target.write_bytes(bytes(data))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime
    with pytest.raises(WeightsError, match="does not match its sha256") as exc:
        weights.verify_cached("xmem")
    table.record("weights", "a cached XMem.pth changed after its digest was recorded (mtime restored)",
                 str(exc.value).replace(str(tmp_path), "<cache>").split(".rejected-")[0] + ".rejected-<time>' ...",
                 "raises WeightsError, the file moved aside")


def test_the_download_deadline_covers_connecting_and_headers(f, tmp_path, monkeypatch, capsys):
    """A server that trickles header bytes (never stalls, never ends) used to outlive the deadline."""
    import socket
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    stop = threading.Event()

    def trickle():
        conn, _ = srv.accept()
        with conn:
            for b in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200:
                if stop.is_set():
                    return
                try:
                    conn.send(bytes([b]))
                except OSError:
                    return
                time.sleep(0.1)

    threading.Thread(target=trickle, daemon=True).start()
    monkeypatch.delenv("XMEM_DEMO_OFFLINE", raising=False)
    monkeypatch.setenv("XMEM_DEMO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XMEM_DEMO_WEIGHTS_URL", f"http://127.0.0.1:{srv.getsockname()[1]}/")
    monkeypatch.setenv("XMEM_DEMO_DOWNLOAD_DEADLINE_S", "1")
    monkeypatch.setenv("XMEM_DEMO_DOWNLOAD_STALL_S", "1")
    started = time.monotonic()
    run = run_cli(["download", "xmem"], capsys)
    took = time.monotonic() - started
    stop.set()
    srv.close()
    assert run.code == 2 and "did not finish within 1 s (no complete response headers" in run.error, run.err
    assert took < 3, took
    assert not list((tmp_path / "cache").glob("*.part"))
    table.record("weights", "xmem-demo download: a server trickling header bytes (deadline 1 s)",
                 re.sub(r"http://127\.0\.0\.1:\d+", "http://SERVER", run.error).replace(str(tmp_path / "cache"), "<cache>"),
                 "exit 2 within the deadline, no .part left")
