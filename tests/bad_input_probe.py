"""A probe of bad inputs across the interfaces, counted by outcome (issue 20's closing count).

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python3 -m tests.bad_input_probe [--json out.json] [names...]

Each case runs in its own Python process with a time limit, on files made once in a scratch
folder, and is classified by what a user would see:

* clear      : refused with our one-line message (CLI: exit 2, one `xmem-demo: error:` line;
               API: one of the project's error types, message naming the argument or file)
* ok         : accepted and the result is right (checked by the case)
* traceback  : a Python traceback reached the user (CLI stderr), or the API raised a
               foreign exception type (TypeError, AttributeError, ...) instead of a clear one
* silent     : accepted but the result is wrong (checked by the case)
* hang       : still running at the time limit
* lost       : an input file was changed or deleted

Not a test (pytest does not collect it): the tests in tests/test_bad_inputs.py and
tests/test_inputs_sacred.py pin the behaviour; this counts it, before and after a change.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from pathlib import Path
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 60
CASES: dict[str, tuple[str, Callable[[Path], tuple[str, str]]]] = {}


def case(interface: str):
    def register(fn):
        CASES[fn.__name__] = (interface, fn)
        return fn

    return register


# ---- the files every case shares --------------------------------------------------------
def make_files(d: Path) -> None:
    from PIL import Image

    from tests.support import save_tiny_checkpoint, square_frames, square_mask, write_clip
    from xmem_demo.video import write_index_mask

    frames = square_frames(6)
    write_clip(d / "clip.mp4", frames)
    (d / "frames").mkdir()
    for i, fr in enumerate(frames):
        Image.fromarray(fr).save(d / "frames" / f"{i:05d}.png")
    write_index_mask(d / "mask.png", square_mask())
    save_tiny_checkpoint(d / "tiny.pth")
    # a folder with a video and earlier results inside
    (d / "vid").mkdir()
    write_clip(d / "vid" / "overlay.mp4", frames)
    write_index_mask(d / "vid" / "mask.png", square_mask())
    (d / "dmasks").mkdir()
    (d / "dmasks" / "masks").mkdir()
    for i, fr in enumerate(frames):
        Image.fromarray(fr).save(d / "dmasks" / "masks" / f"{i:05d}.png")
    write_index_mask(d / "dmasks" / "mask.png", square_mask())


def sha(path: Path) -> dict[str, str]:
    if path.is_dir():
        out = {}
        for p in sorted(path.rglob("*")):
            if p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
        return out
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest()} if path.exists() else {}


def cli(argv: list[str], inputs: list[Path] = ()) -> tuple[str, str]:
    """Run the CLI in this process; classify its exit; inputs listed must be unchanged."""
    from contextlib import redirect_stderr, redirect_stdout

    from xmem_demo.cli import main

    before = {}
    for p in inputs:
        before.update(sha(p))
    err, out = io.StringIO(), io.StringIO()
    with redirect_stderr(err), redirect_stdout(out):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
    after = {}
    for p in inputs:
        after.update(sha(p))
    text = err.getvalue()
    sys.stderr.write(text)
    if before != after:
        changed = sorted(set(before) ^ set(after) | {k for k in before if after.get(k) != before[k]})
        return "lost", f"exit {code}; inputs changed: {[Path(c).name for c in changed][:4]}"
    last = [ln for ln in text.splitlines() if ln.strip()][-1:] or [""]
    if code == 2 and last[0].startswith("xmem-demo: error:"):
        return "clear", last[0]
    return f"exit{code}", last[0]


def api(call: Callable[[], object]) -> tuple[str, str]:
    """Clear: the project's own error types (all ValueError or WeightsError) with a message."""
    from xmem_demo.weights import WeightsError

    try:
        result = call()
    except (ValueError, WeightsError) as err:
        if type(err).__module__.startswith("xmem_demo"):
            return "clear", f"{type(err).__name__}: {err}"
        raise
    return "ok", repr(result)[:120]


# ---- CLI: inputs are sacred ---------------------------------------------------------------
@case("CLI")
def out_contains_video(d):
    v, r = cli(["segment", d / "vid/overlay.mp4", "--mask", d / "vid/mask.png", "--out", d / "vid", "--weights", d / "tiny.pth"],
               [d / "vid"])
    return v, r


@case("CLI")
def out_contains_frame_folder(d):
    return cli(["segment", d / "dmasks/masks", "--mask", d / "dmasks/mask.png", "--out", d / "dmasks",
                "--weights", d / "tiny.pth"], [d / "dmasks"])


@case("CLI")
def out_equals_frame_folder(d):
    return cli(["segment", d / "frames", "--mask", d / "mask.png", "--out", d / "frames", "--weights", d / "tiny.pth"],
               [d / "frames", d / "mask.png"])


@case("CLI")
def out_inside_frame_folder(d):
    return cli(["segment", d / "frames", "--mask", d / "mask.png", "--out", d / "frames/res", "--weights", d / "tiny.pth"],
               [d / "frames", d / "mask.png"])


@case("CLI")
def mask_inside_earlier_out(d):
    """--mask is a mask of an earlier run in --out: the stale sweep must not delete it."""
    cli(["segment", d / "clip.mp4", "--mask", d / "mask.png", "--out", d / "prev", "--weights", d / "tiny.pth"])
    return cli(["segment", d / "clip.mp4", "--mask", d / "prev/masks/00000.png", "--out", d / "prev",
                "--weights", d / "tiny.pth"], [d / "prev/masks/00000.png"])


@case("CLI")
def save_probs_is_the_mask(d):
    import shutil

    shutil.copy(d / "mask.png", d / "m.npz")  # a mask file that happens to end in .npz cannot be read; use video dir
    return cli(["segment", d / "frames", "--mask", d / "mask.png", "--out", d / "o7", "--weights", d / "tiny.pth",
                "--save-probs", d / "frames/probs.npz"], [d / "frames"])


@case("CLI")
def foreign_file_in_out_masks(d):
    """A user's own 00042.png in OUT/masks (not written by us) must survive a run."""
    (d / "o8/masks").mkdir(parents=True)
    from PIL import Image

    Image.fromarray(np.zeros((4, 4), np.uint8)).save(d / "o8/masks/00042.png")
    return cli(["segment", d / "clip.mp4", "--mask", d / "mask.png", "--out", d / "o8", "--weights", d / "tiny.pth"],
               [d / "o8/masks/00042.png"])


@case("CLI")
def out_empty_string(d):
    os.chdir(d / "vid")
    v, r = cli(["segment", d / "clip.mp4", "--mask", d / "mask.png", "--out", "", "--weights", d / "tiny.pth"])
    if v == "exit0":
        return "silent", "wrote into the current folder: " + r
    return v, r


# ---- CLI/library: frames and masks --------------------------------------------------------
def _png_declaring(path: Path, w: int, h: int) -> None:
    """A tiny PNG whose header declares w x h (a decompression bomb's header, no data)."""
    def chunk(kind, data):
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    ihdr = w.to_bytes(4, "big") + h.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    idat = zlib.compress(b"\x00" * 16)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def _gif_declaring(path: Path, w: int, h: int) -> None:
    path.write_bytes(b"GIF89a" + w.to_bytes(2, "little") + h.to_bytes(2, "little") + b"\x00\x00\x00"
                     + b"\x2c\x00\x00\x00\x00" + w.to_bytes(2, "little") + h.to_bytes(2, "little") + b"\x00\x02\x02\x44\x01\x00\x3b")


@case("CLI")
def bomb_gif(d):
    _gif_declaring(d / "bomb.gif", 65535, 65535)
    return cli(["segment", d / "bomb.gif", "--mask", d / "mask.png", "--out", d / "o9", "--weights", d / "tiny.pth"])


@case("CLI")
def bomb_png_frame(d):
    (d / "bombf").mkdir()
    _png_declaring(d / "bombf/00000.png", 30000, 30000)
    return cli(["segment", d / "bombf", "--mask", d / "mask.png", "--out", d / "o10", "--weights", d / "tiny.pth"])


@case("CLI")
def bomb_png_mask(d):
    _png_declaring(d / "bombmask.png", 30000, 30000)
    return cli(["segment", d / "clip.mp4", "--mask", d / "bombmask.png", "--out", d / "o11", "--weights", d / "tiny.pth"])


@case("CLI")
def frames_16bit_gray(d):
    """16-bit grayscale frames (mid-grey and a bright square) must not read as all white."""
    from PIL import Image

    (d / "f16").mkdir()
    for i in range(3):
        a = np.full((48, 64), 20000, np.uint16)
        a[10:26, 4:20] = 60000
        Image.fromarray(a).save(d / f"f16/{i:05d}.png")
    v, r = cli(["segment", d / "f16", "--mask", d / "mask.png", "--out", d / "o12", "--weights", d / "tiny.pth"])
    if v != "exit0":
        return v, r
    from xmem_demo.video import open_video

    fr = open_video(d / "f16").get(0)
    ok = 70 <= int(fr[0, 0, 0]) <= 90 and int(fr[15, 10, 0]) > 225
    return ("ok" if ok else "silent"), f"decoded values {fr[0, 0, 0]}, {fr[15, 10, 0]} (expect ~78 and ~233)"


@case("CLI")
def frames_16bit_rgb(d):
    import cv2

    (d / "f48").mkdir()
    for i in range(3):
        a = np.full((48, 64, 3), 20000, np.uint16)
        cv2.imwrite(str(d / f"f48/{i:05d}.png"), a)
    v, r = cli(["segment", d / "f48", "--mask", d / "mask.png", "--out", d / "o13", "--weights", d / "tiny.pth"])
    if v != "exit0":
        return v, r
    from xmem_demo.video import open_video

    fr = open_video(d / "f48").get(0)
    return ("ok" if 70 <= int(fr[0, 0, 0]) <= 90 else "silent"), f"decoded {fr[0, 0]}"


@case("CLI")
def frames_mixed_modes(d):
    """A folder mixing grayscale, palette and RGBA frames: each converted to RGB."""
    from PIL import Image

    (d / "fmix").mkdir()
    base = np.full((48, 64, 3), 100, np.uint8)
    Image.fromarray(base[..., 0]).save(d / "fmix/00000.png")
    Image.fromarray(base).convert("P").save(d / "fmix/00001.png")
    Image.fromarray(np.dstack([base, np.full((48, 64), 255, np.uint8)])).save(d / "fmix/00002.png")
    v, r = cli(["segment", d / "fmix", "--mask", d / "mask.png", "--out", d / "o14", "--weights", d / "tiny.pth"])
    return ("ok" if v == "exit0" else v), r


@case("CLI")
def rgba_mask_transparent_white(d):
    """An RGBA mask: white, fully transparent background; one opaque red object."""
    from PIL import Image

    a = np.zeros((48, 64, 4), np.uint8)
    a[..., :3] = 255
    a[10:26, 4:20] = (255, 0, 0, 255)
    Image.fromarray(a, "RGBA").save(d / "rgba.png")
    v, r = cli(["segment", d / "clip.mp4", "--mask", d / "rgba.png", "--out", d / "o15", "--weights", d / "tiny.pth"])
    if v != "exit0":
        return v, r
    s = json.loads((d / "o15/summary.json").read_text())
    return ("ok" if len(s["objects"]) == 1 else "silent"), f"objects {s['objects']}"


@case("CLI")
def la_mask_transparent(d):
    """A grey+alpha mask whose transparent pixels hold 255: background, not void/object."""
    from PIL import Image

    a = np.zeros((48, 64, 2), np.uint8)
    a[..., 0] = 7
    a[10:26, 4:20] = (1, 255)
    Image.fromarray(a, "LA").save(d / "la.png")
    v, r = cli(["segment", d / "clip.mp4", "--mask", d / "la.png", "--out", d / "o16", "--weights", d / "tiny.pth"])
    if v != "exit0":
        return v, r
    s = json.loads((d / "o16/summary.json").read_text())
    return ("ok" if s["objects"] == [1] else "silent"), f"objects {s['objects']}"


@case("CLI")
def mask_fifo(d):
    os.mkfifo(d / "fifo.png")
    return cli(["segment", d / "clip.mp4", "--mask", d / "fifo.png", "--out", d / "o17", "--weights", d / "tiny.pth"])


@case("CLI")
def video_fifo(d):
    os.mkfifo(d / "fifo.mp4")
    return cli(["segment", d / "fifo.mp4", "--mask", d / "mask.png", "--out", d / "o18", "--weights", d / "tiny.pth"])


@case("CLI")
def video_dev_null(d):
    return cli(["segment", "/dev/zero", "--mask", d / "mask.png", "--out", d / "o19", "--weights", d / "tiny.pth"])


@case("CLI")
def weights_fifo(d):
    os.mkfifo(d / "fifo.pth")
    return cli(["segment", d / "clip.mp4", "--mask", d / "mask.png", "--out", d / "o20", "--weights", d / "fifo.pth"])


@case("CLI")
def eval_mixed_sizes(d):
    from xmem_demo.video import write_index_mask

    for root in ("gt", "pred"):
        (d / root / "s").mkdir(parents=True)
        write_index_mask(d / root / "s/00000.png", np.ones((48, 64), np.uint8))
        write_index_mask(d / root / "s/00001.png", np.ones((40, 64), np.uint8))
    return cli(["eval", d / "pred", d / "gt"])


@case("CLI")
def eval_empty_gt(d):
    from xmem_demo.video import write_index_mask

    for root in ("gt0", "pred0"):
        (d / root / "s").mkdir(parents=True)
        for i in range(3):
            write_index_mask(d / root / f"s/{i:05d}.png", np.zeros((48, 64), np.uint8))
    v, r = cli(["eval", d / "pred0", d / "gt0"])
    return ("silent", "exit 0, printed a table (nan)") if v == "exit0" else (v, r)


@case("CLI")
def ctrl_c_during_imports(d):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    best = None
    for delay in (0.3, 0.8, 1.5):
        p = subprocess.Popen([sys.executable, "-m", "xmem_demo.cli", "segment", str(d / "clip.mp4"), "--mask",
                              str(d / "mask.png"), "--out", str(d / "o21"), "--weights", str(d / "tiny.pth")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        time.sleep(delay)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        if "Traceback" in err:
            return "traceback", f"after {delay} s: {lines[-1] if lines else ''}"
        best = (p.returncode, lines)
    code, lines = best
    one_line = len(lines) <= 3 and (not lines or "interrupted" in lines[-1])
    return ("clear" if one_line else "silent"), f"exit {code}: {lines[-1:] }"


# ---- weights and checkpoints ----------------------------------------------------------------
@case("weights")
def small_network_as_official(d):
    """A tiny network placed in the cache as XMem.pth must not be announced as official XMem."""
    import shutil

    os.environ["XMEM_DEMO_CACHE"] = str(d / "cache")
    os.environ["XMEM_DEMO_OFFLINE"] = "1"
    (d / "cache").mkdir()
    shutil.copy(d / "tiny.pth", d / "cache/XMem.pth")
    from xmem_demo.weights import resolve_model

    v, r = api(lambda: resolve_model("xmem", allow_download=False)[1].label)
    if v == "ok" and "official" in r and "not the official" not in r:
        return "silent", r
    return v, r


@case("checkpoint")
def checkpoint_byte_flip(d):
    data = bytearray((d / "tiny.pth").read_bytes())
    i = data.index(b"data/0") + 4000  # inside the first tensor records
    data[i] ^= 0x01
    (d / "flip.pth").write_bytes(bytes(data))
    from xmem_demo.checkpoint import load_model

    v, r = api(lambda: load_model(d / "flip.pth"))
    return ("silent", "loaded") if v == "ok" else (v, r)


@case("checkpoint")
def cached_official_flipped_after_record(d):
    """The recorded digest must be checked on every load, even when the mtime is restored."""
    os.environ["XMEM_DEMO_CACHE"] = str(d / "cache2")
    os.environ["XMEM_DEMO_OFFLINE"] = "1"
    from xmem_demo import weights

    (d / "cache2").mkdir()
    target = d / "cache2/XMem.pth"
    target.write_bytes((d / "tiny.pth").read_bytes())
    weights.write_record(target, "test")
    st = target.stat()
    weights.digest_of(target)  # remembered once
    data = bytearray(target.read_bytes())
    data[-100] ^= 1
    target.write_bytes(bytes(data))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    v, r = api(lambda: weights.verify_cached("xmem"))
    return ("silent", "accepted") if v == "ok" else (v, r)


class Evil:
    """A pickled object weights_only loading must refuse."""


@case("checkpoint")
def pickle_message_keeps_warning(d):
    import torch

    torch.save({"x": Evil()}, d / "evil.pth")
    from xmem_demo.checkpoint import load_model

    v, r = api(lambda: load_model(d / "evil.pth"))
    if v == "clear" and "weights_only` set to `False`" in r and "arbitrary code" not in r:
        return "silent", "message ends advising weights_only=False: " + r[-90:]
    return v, r


@case("weights")
def download_headers_trickle(d):
    """A server that accepts the connection and trickles header bytes; the deadline is 2 s."""
    import socket
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()

    def serve():
        conn, _ = srv.accept()
        try:
            for b in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 400:
                conn.send(bytes([b]))
                time.sleep(0.2)
        except OSError:
            pass

    threading.Thread(target=serve, daemon=True).start()
    os.environ.pop("XMEM_DEMO_OFFLINE", None)
    os.environ.update(XMEM_DEMO_CACHE=str(d / "c3"), XMEM_DEMO_DOWNLOAD_DEADLINE_S="2", XMEM_DEMO_DOWNLOAD_STALL_S="1",
                      XMEM_DEMO_WEIGHTS_URL=f"http://127.0.0.1:{srv.getsockname()[1]}/")
    started = time.monotonic()
    v, r = cli(["download", "xmem"])
    took = time.monotonic() - started
    if took > 6:
        return "hang", f"took {took:.0f} s with a 2 s deadline: {r}"
    return v, r


# ---- the Python API ---------------------------------------------------------------------------
def _tiny():
    import torch

    from tests.conftest import TINY
    from xmem_demo import ModelConfig, XMem

    torch.manual_seed(0)
    return XMem(ModelConfig(**TINY)).eval()


def _frames(n=3):
    from tests.support import square_frames

    return square_frames(n)


def _mask():
    from tests.support import square_mask

    return square_mask()


def _track(frames=None, ann=None, **kw):
    from xmem_demo.pipeline import ArraySource, track

    frames = _frames() if frames is None else frames
    ann = {0: _mask()} if ann is None else ann
    return [r.mask for r in track(_tiny(), ArraySource(frames), ann, **kw)]


@case("API")
def bgr_view(d):
    frames = [f[..., ::-1] for f in _frames()]
    v, r = api(lambda: _track(frames))
    return v, r


@case("API")
def strided_frames(d):
    frames = [np.repeat(np.repeat(f, 2, 0), 2, 1)[::2, ::2] for f in _frames()]
    return api(lambda: _track(frames))


@case("API")
def session_bgr_view(d):
    from xmem_demo.session import InferenceSession

    s = InferenceSession(_tiny())
    return api(lambda: s.step(_frames()[0][..., ::-1], mask=_mask()).shape)


@case("API")
def working_size_minus5(d):
    return api(lambda: _track(working_size=-5))


@case("API")
def session_working_size_7(d):
    from xmem_demo.session import InferenceSession

    v, r = api(lambda: InferenceSession(_tiny(), working_size=7))
    return ("silent", "accepted working_size=7 (the CLI refuses < 32)") if v == "ok" else (v, r)


@case("API")
def session_working_size_text(d):
    from xmem_demo.session import InferenceSession

    v, r = api(lambda: InferenceSession(_tiny(), working_size="480").step(_frames()[0], mask=_mask()).shape)
    return v, r


@case("API")
def config_plain_dict_track(d):
    v, r = api(lambda: _track(config={"mem_every": 3}))
    return v, r


@case("API")
def config_plain_dict_session(d):
    from xmem_demo.session import InferenceSession

    return api(lambda: InferenceSession(_tiny(), {"mem_every": 3}).step(_frames()[0], mask=_mask()).shape)


@case("API")
def config_dict_unknown_key(d):
    v, r = api(lambda: _track(config={"mem_evry": 3}))
    return ("silent", "unknown key ignored") if v == "ok" else (v, r)


@case("API")
def annotations_string_keys(d):
    return api(lambda: _track(ann={"0": _mask()}))


@case("API")
def annotations_list_mask(d):
    return api(lambda: _track(ann={0: _mask().tolist()}))


@case("API")
def annotations_bool_mask(d):
    v, r = api(lambda: _track(ann={0: _mask() > 0}))
    return v, r


@case("API")
def annotations_negative_labels(d):
    m = _mask().astype(np.int16)
    m[m == 1] = -1
    return api(lambda: _track(ann={0: m}))


@case("API")
def annotations_torch_mask(d):
    import torch

    return api(lambda: _track(ann={0: torch.from_numpy(_mask())}))


@case("API")
def annotations_numpy_int_key(d):
    return api(lambda: _track(ann={np.int64(0): _mask()}))


@case("API")
def resolve_model_none(d):
    from xmem_demo.weights import resolve_model

    return api(lambda: resolve_model(None))


@case("API")
def resolve_model_int(d):
    from xmem_demo.weights import resolve_model

    return api(lambda: resolve_model(3))


@case("API")
def to_index_mask_2d(d):
    import torch

    from xmem_demo.session import InferenceSession

    s = InferenceSession(_tiny())
    s.step(_frames()[0], mask=_mask())
    v, r = api(lambda: s.to_index_mask(torch.rand(48, 64)).shape)
    return ("silent", "returned " + r) if v == "ok" else (v, r)


@case("API")
def grabcut_click_outside(d):
    from xmem_demo.clicks import Click
    from xmem_demo.clicks.grabcut import GrabCutSegmenter

    v, r = api(lambda: int(GrabCutSegmenter().segment(_frames()[0], [Click(500, 500, True)]).sum()))
    return ("silent", "empty mask for a click outside the frame") if v == "ok" and r == "0" else (v, r)


@case("API")
def track_frames_list_of_lists(d):
    frames = [f.tolist() for f in _frames()]
    return api(lambda: _track(frames))


@case("API")
def session_num_frames_negative(d):
    from xmem_demo.session import InferenceSession

    v, r = api(lambda: InferenceSession(_tiny(), num_frames=-3))
    return ("silent", "accepted num_frames=-3") if v == "ok" else (v, r)


# ---- the app's functions ----------------------------------------------------------------------
@case("app")
def app_bomb_gif(d):
    from xmem_demo.app.clip_tab.actions import load_clip
    from xmem_demo.app.clip_tab.state import AppState

    _gif_declaring(d / "bomb2.gif", 65535, 65535)
    return api(lambda: load_clip(AppState(), d / "bomb2.gif"))


@case("app")
def app_rgba_mask(d):
    from PIL import Image

    from xmem_demo.app.clip_tab.actions import apply_mask_upload, load_clip
    from xmem_demo.app.clip_tab.state import AppState

    a = np.zeros((48, 64, 4), np.uint8)
    a[..., :3] = 255
    a[10:26, 4:20] = (255, 0, 0, 255)
    Image.fromarray(a, "RGBA").save(d / "rgba2.png")
    st = AppState()
    load_clip(st, d / "clip.mp4")
    v, r = api(lambda: apply_mask_upload(st, d / "rgba2.png"))
    if v == "ok":
        n = len(st.objects)
        return ("ok" if n == 1 else "silent"), f"{n} objects"
    return v, r


@case("app")
def app_bomb_mask(d):
    from xmem_demo.app.clip_tab.actions import apply_mask_upload, load_clip
    from xmem_demo.app.clip_tab.state import AppState

    _png_declaring(d / "bomb3.png", 30000, 30000)
    st = AppState()
    load_clip(st, d / "clip.mp4")
    return api(lambda: apply_mask_upload(st, d / "bomb3.png"))


@case("app")
def app_upload_caps(d):
    from xmem_demo.app import limits
    from xmem_demo.app import launch_options

    opts = launch_options()
    size = str(opts.get("max_file_size", "")).lower()
    total = getattr(limits, "MAX_UPLOAD_TOTAL_BYTES", None)
    ok = size and size not in ("2gb",) and total is not None
    return ("ok" if ok else "silent"), f"max_file_size={size}, total cap={total}"


# ---- the harness ------------------------------------------------------------------------------
def run_one(name: str, d: Path) -> None:
    sys.path.insert(0, str(REPO))
    verdict, detail = CASES[name][1](d)
    print("PROBE " + json.dumps({"verdict": verdict, "detail": detail}), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*")
    ap.add_argument("--json")
    args = ap.parse_args()
    names = args.names or list(CASES)
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", XMEM_DEMO_OFFLINE="1")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        subprocess.run([sys.executable, "-c", f"from tests.bad_input_probe import make_files; from pathlib import Path; "
                        f"make_files(Path({str(base)!r}))"], env=env, check=True, cwd=REPO)
        results = []
        for name in names:
            d = Path(tmp) / name
            subprocess.run(["cp", "-a", str(base), str(d)], check=True)
            started = time.monotonic()
            try:
                p = subprocess.run([sys.executable, "-c", f"from tests.bad_input_probe import run_one; from pathlib import Path; "
                                    f"run_one({name!r}, Path({str(d)!r}))"], env=env, cwd=d, capture_output=True,
                                   text=True, timeout=TIMEOUT_S)
                line = next((ln for ln in p.stdout.splitlines() if ln.startswith("PROBE ")), None)
                if "Traceback" in p.stderr:
                    tail = [ln for ln in p.stderr.splitlines() if ln.strip()][-1]
                    res = {"verdict": "traceback", "detail": tail[:200]}
                elif line is None:
                    res = {"verdict": "traceback", "detail": f"no result, rc {p.returncode}"}
                else:
                    res = json.loads(line[6:])
            except subprocess.TimeoutExpired:
                res = {"verdict": "hang", "detail": f"still running after {TIMEOUT_S} s"}
            if res["verdict"].startswith("exit"):
                res["verdict"] = "ok" if res["verdict"] == "exit0" else "traceback"
            res.update(name=name, interface=CASES[name][0], seconds=round(time.monotonic() - started, 1))
            results.append(res)
            print(f"{res['interface']:<10} {name:<36} {res['verdict']:<9} {res['detail'][:150]}", flush=True)
    counts = Counter((r["interface"], r["verdict"]) for r in results)
    print()
    for iface in sorted({r["interface"] for r in results}):
        row = {v: counts[(iface, v)] for v in ("clear", "ok", "traceback", "silent", "hang", "lost")}
        print(f"{iface:<10} {sum(row.values()):>3} cases: " + ", ".join(f"{k} {v}" for k, v in row.items()))
    total = Counter(r["verdict"] for r in results)
    print(f"{'all':<10} {len(results):>3} cases: " + ", ".join(f"{k} {total[k]}" for k in
                                                         ("clear", "ok", "traceback", "silent", "hang", "lost")))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
