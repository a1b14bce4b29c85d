"""Bad input, case by case, across the CLI, the Python API, checkpoint loading, weights downloads
and the app's checks: each gives one specific message (exit code 2 on the command line), starts
no work and leaves nothing behind. Every case is also a row of docs/bad_inputs.md
(tests/bad_inputs_table.py writes it when XMEM_DEMO_WRITE_BAD_INPUTS=1).
"""

from __future__ import annotations

import http.server
import os
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from xmem_demo import MemoryConfig, ModelConfig, XMem, save_checkpoint
from xmem_demo.checkpoint import CheckpointError, load_model
from xmem_demo.cli import main
from xmem_demo.errors import InputError, MaskError
from xmem_demo.outdir import OutputDir
from xmem_demo.pipeline import ArraySource, track
from xmem_demo.session import InferenceSession
from xmem_demo.video import Mp4Writer, write_index_mask

from . import bad_inputs_table as table
from .conftest import TINY

H, W, T = 48, 64, 6
ROOT: list[str] = []  # the module's temporary folder, shown as <tmp> in the table


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
    frames = []
    for t in range(T):
        fr = np.full((H, W, 3), 40, np.uint8)
        fr[10:26, 4 + 3 * t : 20 + 3 * t] = (220, 60, 60)
        frames.append(fr)
    with Mp4Writer(root / "clip.mp4", fps=10) as w:
        for fr in frames:
            w.write(fr)
    with Mp4Writer(root / "tiny8.mp4", fps=10) as w:
        for _ in range(3):
            w.write(np.zeros((8, 8, 3), np.uint8))
    mask = np.zeros((H, W), np.uint8)
    mask[10:26, 4:20] = 1
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
    torch.manual_seed(0)
    model = XMem(ModelConfig(**TINY))
    save_checkpoint(model, root / "tiny.pth")
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
    return root


class _Evil:
    """A pickled object: weights_only loading must refuse it (it could run code)."""


def save_checkpoint_dict(path: Path, model: XMem, state: dict) -> None:
    torch.save({"format": "xmem-demo", "model_config": model.config.to_dict(), "state_dict": state}, path)


# ---- the command line -----------------------------------------------------------------------
def _cli(f: Path, *, video="clip.mp4", mask="mask.png", out="out", extra=()):
    argv = ["segment", str(f / video), "--mask", str(f / mask), "--out", str(f / out), "--weights", str(f / "tiny.pth")]
    return argv + list(extra)


CLI_CASES = {
    # id: (argv builder, expected text, what the table calls the input)
    "missing video": (lambda f: _cli(f, video="nope.mp4"), "not found", "a video that does not exist"),
    "unknown type": (lambda f: _cli(f, video="clip.xyz"), "unsupported file type", "clip.xyz (unknown file type)"),
    "random bytes": (lambda f: _cli(f, video="random.mp4"), "random.mp4", "random bytes named .mp4"),
    "empty video": (lambda f: _cli(f, video="empty.mp4"), "the file is empty", "a 0-byte .mp4"),
    "empty folder": (lambda f: _cli(f, video="noframes"), "holds no", "a folder without frames"),
    "tiny clip": (lambda f: _cli(f, video="tiny8.mp4", mask="mask.png"), "at least 16x16", "an 8x8 pixel clip"),
    "missing mask": (lambda f: _cli(f, mask="nope.png"), "not found", "--mask that does not exist"),
    "jpeg mask": (lambda f: _cli(f, mask="mask.jpg"), "is a JPEG", "--mask mask.jpg (lossy JPEG)"),
    "mask size": (lambda f: _cli(f, mask="small.png"), "mask is 10x10", "--mask of another size (10x10)"),
    "empty mask": (lambda f: _cli(f, mask="zeros.png"), "has no object", "--mask with only 0"),
    "void-only mask": (lambda f: _cli(f, mask="void.png"), "or void", "--mask (palette) with only 0 and 255 (void)"),
    "too many objects": (lambda f: _cli(f, mask="many.png"), "at most 20", "--mask with 25 objects"),
    "mask is text": (lambda f: _cli(f, mask="text.png"), "cannot read mask", "--mask: a text file named .png"),
    "mask is folder": (lambda f: _cli(f, mask="noframes"), "is a folder", "--mask: a folder"),
    "mask frame 99": (lambda f: _cli(f, extra=["--mask-frame", "99"]), "--mask-frame 99", "--mask-frame 99 (clip has 6)"),
    "mask frame -1": (lambda f: _cli(f, extra=["--mask-frame", "-1"]), "--mask-frame -1", "--mask-frame -1"),
    "size 0": (lambda f: _cli(f, extra=["--size", "0"]), "--size 0", "--size 0"),
    "size -5": (lambda f: _cli(f, extra=["--size", "-5"]), "--size -5", "--size -5"),
    "size huge": (lambda f: _cli(f, extra=["--size", "100000"]), "exceeds the limit", "--size 100000"),
    "size too big for clip": (lambda f: _cli(f, extra=["--size", "1300"]), "exceed the limit", "--size 1300 on a 4:3 clip (1300x1733 working)"),
    "size text": (lambda f: _cli(f, extra=["--size", "big"]), "invalid int value", "--size big"),
    "device cuda": (lambda f: _cli(f, extra=["--device", "cuda"]), "no CUDA GPU", "--device cuda (no GPU)"),
    "device gpu0": (lambda f: _cli(f, extra=["--device", "gpu0"]), "not a device name", "--device gpu0"),
    "device mps": (lambda f: _cli(f, extra=["--device", "mps"]), "MPS is not available", "--device mps (not a Mac)"),
    "precision int8": (lambda f: _cli(f, extra=["--precision", "int8"]), "invalid choice", "--precision int8"),
    "precision fp16 cpu": (lambda f: _cli(f, extra=["--precision", "fp16", "--device", "cpu"]), "needs a CUDA GPU", "--precision fp16 on CPU"),
    "mem-every 2.5": (lambda f: _cli(f, extra=["--mem-every", "2.5"]), "invalid int value", "--mem-every 2.5"),
    "mem-every 0": (lambda f: _cli(f, extra=["--mem-every", "0"]), "mem_every (r) must be >= 1", "--mem-every 0"),
    "T_max <= T_min": (lambda f: _cli(f, extra=["--max-mid-term-frames", "2"]), "T_max", "--max-mid-term-frames 2 (T_min 5)"),
    "top-k 0": (lambda f: _cli(f, extra=["--top-k", "0"]), "top_k must be >= 1", "--top-k 0"),
    "P 0": (lambda f: _cli(f, extra=["--num-prototypes", "0"]), "num_prototypes (P)", "--num-prototypes 0"),
    "void label": (lambda f: _cli(f, extra=["--void-label", "abc"]), "--void-label 'abc'", "--void-label abc"),
    "out is file": (lambda f: _cli(f, out="afile"), "is an existing file", "--out an existing file"),
    "out under file": (lambda f: _cli(f, out="afile/sub"), "which is a file", "--out a path under a file"),
    "out unwritable": (lambda f: ["segment", str(f / "clip.mp4"), "--mask", str(f / "mask.png"), "--out", "/proc/xmem-out"],
                       "cannot write into", "--out /proc/xmem-out (not writable)"),
    "probs folder": (lambda f: _cli(f, extra=["--save-probs", str(f)]), "is a folder", "--save-probs an existing folder"),
    "probs no folder": (lambda f: _cli(f, extra=["--save-probs", str(f / "no" / "p.npz")]), "does not exist", "--save-probs in a missing folder"),
    "probs suffix": (lambda f: _cli(f, extra=["--save-probs", str(f / "p.txt")]), "must end in .npz", "--save-probs p.txt"),
    "probs unwritable": (lambda f: _cli(f, extra=["--save-probs", "/proc/p.npz"]), "cannot write into", "--save-probs /proc/p.npz"),
    "weights name": (lambda f: _cli(f) [:-2] + ["--weights", "xmem-large"], "is unknown", "--weights xmem-large"),
    "weights missing": (lambda f: _cli(f)[:-2] + ["--weights", str(f / "nope.pth")], "not found", "--weights a missing .pth"),
    "weights folder": (lambda f: _cli(f)[:-2] + ["--weights", str(f / "folder.pth")], "is a folder", "--weights a folder"),
    "weights zeros": (lambda f: _cli(f)[:-2] + ["--weights", str(f / "zeros.pth")], "cannot load checkpoint", "--weights 100 zero bytes"),
    "weights NaN": (lambda f: _cli(f)[:-2] + ["--weights", str(f / "nan.pth")], "NaN or Inf", "--weights with a NaN tensor"),
    "weights truncated": (lambda f: _cli(f)[:-2] + ["--weights", str(f / "truncated.pth")], "corrupt or truncated", "--weights cut in half"),
    "weights other net": (lambda f: _cli(f)[:-2] + ["--weights", str(f / "other_net.pth")], "not an XMem checkpoint", "--weights of another network"),
    "weights pickle": (lambda f: _cli(f)[:-2] + ["--weights", str(f / "pickle.pth")], "weights_only", "--weights holding a pickled object"),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_bad_input(f, case, capsys):
    build, expected, label = CLI_CASES[case]
    argv = build(f)
    out_dirs = [Path(argv[i + 1]) for i, a in enumerate(argv) if a == "--out"]
    existed = {p: p.exists() for p in out_dirs}
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err
    assert lines and lines[-1].startswith("xmem-demo: error:"), err
    assert expected in lines[-1], lines[-1]
    assert "Traceback" not in err
    for p, was in existed.items():  # a refused run creates no output folder
        assert p.exists() == was, p
    table.record("CLI", label, scrub(lines[-1]), "exit 2, nothing written")


def test_cli_out_in_use_by_another_run(f, capsys):
    busy = f / "busy"
    with OutputDir(busy):
        code = main(_cli(f, out="busy"))
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and "in use by another xmem-demo run" in err and f"pid {os.getpid()}" in err
    assert not any((busy / "masks").iterdir())
    table.record("CLI", "--out held by a running xmem-demo", scrub(err), "exit 2, the other run's files untouched")


def test_cli_official_weights_offline(f, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("XMEM_DEMO_OFFLINE", "1")
    monkeypatch.setenv("XMEM_DEMO_CACHE", str(tmp_path))
    code = main(_cli(f)[:-2] + ["--weights", "xmem"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and "XMEM_DEMO_OFFLINE=1" in err
    table.record("CLI", "--weights xmem, offline, not cached", scrub(err).replace(str(tmp_path), "<cache>"), "exit 2")


# ---- the Python API -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return XMem(ModelConfig(**TINY)).eval()


def _frames(n=3, h=H, w=W, dtype=np.uint8, scale=1):
    return [np.full((h, w, 3), 100 * scale, dtype) for _ in range(n)]


def _mask(h=H, w=W, n=1):
    m = np.zeros((h, w), np.uint8)
    for i in range(n):
        m[(i // 8) * 6 : (i // 8) * 6 + 5, (i % 8) * 8 : (i % 8) * 8 + 6] = i + 1
    return m


API_CASES = {
    "float frames 0..255": (lambda m: list(track(m, ArraySource(_frames(dtype=np.float32)), {0: _mask()})),
                            InputError, "looks like 0..255", "track(): float32 frames holding 0..255"),
    "grayscale frames": (lambda m: list(track(m, ArraySource([np.zeros((H, W), np.uint8)] * 2), {0: _mask()})),
                         InputError, "H x W x 3", "track(): H x W frames (no colour axis)"),
    "int16 frames": (lambda m: list(track(m, ArraySource(_frames(dtype=np.int16)), {0: _mask()})),
                     InputError, "dtype int16", "track(): int16 frames"),
    "NaN frames": (lambda m: list(track(m, ArraySource([np.full((H, W, 3), np.nan, np.float32)]), {0: _mask()})),
                   InputError, "NaN", "track(): float frames with NaN"),
    "tiny frames": (lambda m: list(track(m, ArraySource(_frames(h=4, w=4)), {0: _mask(4, 4)})),
                    InputError, "at least 16x16", "track(): 4x4 frames"),
    "precision int8": (lambda m: InferenceSession(m, precision="int8"), InputError, "precision must be one of",
                       "InferenceSession(precision='int8')"),
    "mem_every 2.5": (lambda m: MemoryConfig(mem_every=2.5), ValueError, "mem_every must be a whole number",
                      "MemoryConfig(mem_every=2.5)"),
    "top_k True": (lambda m: MemoryConfig(top_k=True), ValueError, "top_k must be a whole number", "MemoryConfig(top_k=True)"),
    "native 4K": (lambda m: list(track(m, ArraySource(_frames(1, 2160, 3840)), {0: _mask(2160, 3840)}, working_size=None)),
                  InputError, "exceed the limit", "track(working_size=None) on 3840x2160 frames"),
    "working_size 0": (lambda m: list(track(m, ArraySource(_frames()), {0: _mask()}, working_size=0)),
                       InputError, "at least 32", "track(working_size=0)"),
    "21 objects": (lambda m: list(track(m, ArraySource(_frames()), {0: _mask(n=21)})), MaskError, "at most 20",
                   "track() with 21 objects"),
    "float mask": (lambda m: list(track(m, ArraySource(_frames()), {0: _mask().astype(np.float32)})), MaskError,
                   "holds floats", "track() with a float mask"),
    "config dict": (lambda m: list(track(m, ArraySource(_frames()), {0: _mask()}, {"mem_every": 5})), InputError,
                    "must be a MemoryConfig", "track(config={'mem_every': 5})"),
    "empty annotations": (lambda m: list(track(m, ArraySource(_frames()), {})), MaskError, "no annotation",
                          "track() without annotations"),
}


@pytest.mark.parametrize("case", list(API_CASES))
def test_api_bad_input(tiny, case):
    call, exc_type, expected, label = API_CASES[case]
    with pytest.raises(exc_type) as exc:
        call(tiny)
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
class _Server(http.server.BaseHTTPRequestHandler):
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

    def log_message(self, *args):
        pass


@pytest.fixture()
def server(f, tmp_path, monkeypatch):
    files = {"XMem.pth": (f / "nan.pth").read_bytes(), "XMem-s012.pth": (f / "tiny.pth").read_bytes(),
             "XMem-s2.pth": b"x" * 40, "XMem-no-sensory.pth": b"z" * 1000}
    handler = type("H", (_Server,), {"files": files})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setenv("XMEM_DEMO_WEIGHTS_URL", f"http://127.0.0.1:{httpd.server_address[1]}/v1/")
    monkeypatch.setenv("XMEM_DEMO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("XMEM_DEMO_OFFLINE", raising=False)
    yield httpd, tmp_path / "cache"
    httpd.shutdown()


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
    code = main(["download", name])
    seconds = time.monotonic() - started
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and expected in err, err
    assert seconds < 10
    assert not list(cache.glob("*.part")) and not list(cache.glob("*.pth"))
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    table.record("weights", f"xmem-demo download: {label}",
                 scrub(err).replace(url, "http://SERVER").replace(str(cache), "<cache>"),
                 "exit 2, no file in the cache, no .part left")


def test_download_offline_is_refused(server, capsys, monkeypatch):
    monkeypatch.setenv("XMEM_DEMO_OFFLINE", "1")
    code = main(["download", "xmem"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and "XMEM_DEMO_OFFLINE=1" in err
    table.record("weights", "xmem-demo download xmem with XMEM_DEMO_OFFLINE=1", err, "exit 2, nothing fetched")


def test_download_404(server, capsys):
    httpd, cache = server
    httpd.RequestHandlerClass.files = {}
    code = main(["download", "xmem"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and "HTTP 404" in err
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    table.record("weights", "xmem-demo download: HTTP 404",
                 err.replace(url, "http://SERVER").replace(str(cache), "<cache>"), "exit 2")


def test_download_into_a_read_only_cache(server, capsys, monkeypatch):
    monkeypatch.setenv("XMEM_DEMO_CACHE", "/proc/xmem-cache")
    code = main(["download", "xmem"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and "cannot write to the weights cache" in err
    table.record("weights", "xmem-demo download with XMEM_DEMO_CACHE=/proc/xmem-cache (not writable)", err, "exit 2")


# ---- the app's checks (the functions behind its buttons; the HTTP API maps them to gr.Error) ---
@pytest.fixture(scope="module")
def app_files(f):
    with Mp4Writer(f / "wide.mp4", fps=10) as w:  # 4112 x 16: longer than the 4096 the app takes
        w.write(np.zeros((16, 4112, 3), np.uint8))
    with Mp4Writer(f / "uhd.mp4", fps=10) as w:  # 4K: accepted, but not at its own size
        for _ in range(2):
            w.write(np.zeros((2160, 3840, 3), np.uint8))
    with Mp4Writer(f / "2x2.mp4", fps=10) as w:
        w.write(np.zeros((2, 2, 3), np.uint8))
    m = np.zeros((H, W), np.uint8)
    m[5:20, 5:20] = 30
    write_index_mask(f / "label30.png", m)
    (f / "clip.txt").write_text("not a video")
    return f


def _app_clip(f, name="clip.mp4"):
    from xmem_demo.app.actions import load_clip
    from xmem_demo.app.state import AppState

    state = AppState()
    load_clip(state, f / name)
    return state


def _app_track(f, name, size):
    from xmem_demo.app.actions import apply_mask_upload
    from xmem_demo.app.tracking import TrackSettings, run_tracking

    state = _app_clip(f, name)
    state.session_dir = str(f / "app-session")
    h, w = state.clip.hw
    m = np.zeros((h, w), np.uint8)
    m[: h // 4, : w // 4] = 1
    write_index_mask(f / f"{name}.mask.png", m)
    apply_mask_upload(state, f / f"{name}.mask.png")
    list(run_tracking(state, TrackSettings(weights=str(f / "tiny.pth"), device="cpu", working_size=size)))


def _add_21_objects(f):
    from xmem_demo.app.state import AppState

    state = AppState()
    for _ in range(21):
        state.add_object()


APP_CASES = {
    "missing": (lambda f: _app_clip(f, "nope.mp4"), "was not found", "load a clip that does not exist"),
    "text": (lambda f: _app_clip(f, "clip.txt"), "not a supported video", "load clip.txt"),
    "empty": (lambda f: _app_clip(f, "empty.mp4"), "empty file", "load a 0-byte .mp4"),
    "random": (lambda f: _app_clip(f, "random.mp4"), "no frame of this file can be decoded", "load random bytes named .mp4"),
    "2x2": (lambda f: _app_clip(f, "2x2.mp4"), "at least 16×16", "load a 2x2 pixel clip"),
    "wide": (lambda f: _app_clip(f, "wide.mp4"), "up to 4096×2160", "load a 4112x16 clip"),
    "jpeg mask": (lambda f: __import__("xmem_demo.app.actions", fromlist=["x"]).apply_mask_upload(_app_clip(f), f / "mask.jpg"),
                  "not a PNG index mask", "upload mask.jpg"),
    "mask size": (lambda f: __import__("xmem_demo.app.actions", fromlist=["x"]).apply_mask_upload(_app_clip(f), f / "small.png"),
                  "the mask is 10×10", "upload a 10x10 mask for a 64x48 clip"),
    "mask empty": (lambda f: __import__("xmem_demo.app.actions", fromlist=["x"]).apply_mask_upload(_app_clip(f), f / "zeros.png"),
                   "has no object", "upload an all-0 mask"),
    "mask label 30": (lambda f: __import__("xmem_demo.app.actions", fromlist=["x"]).apply_mask_upload(_app_clip(f), f / "label30.png"),
                      "labels 1..20", "upload a mask with label 30"),
    "mask 25 objects": (lambda f: __import__("xmem_demo.app.actions", fromlist=["x"]).apply_mask_upload(_app_clip(f), f / "many.png"),
                        "at most 20", "upload a mask with 25 objects"),
    "21 objects": (_add_21_objects, "at most 20 objects", "add a 21st object"),
    "4K own size": (lambda f: _app_track(f, "uhd.mp4", -1), "exceed the limit", "Track a 4K clip at its own size (-1)"),
}


@pytest.mark.parametrize("case", list(APP_CASES))
def test_app_bad_input(app_files, case):
    call, expected, label = APP_CASES[case]
    with pytest.raises(ValueError) as exc:  # UserError, MaskError, InputError: shown as gr.Error
        call(app_files)
    assert expected in str(exc.value), str(exc.value)
    table.record("app", label, scrub(str(exc.value)), "message in the page (gr.Error), nothing started")


def test_the_committed_table_is_generated_and_large_enough():
    text = table.DOC.read_text()
    assert text.startswith("# What happens on bad input") and "Generated by `tests/test_bad_inputs.py`" in text
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and not ln.startswith("| input")]
    assert len(rows) >= 60
    assert {a for a in table.AREAS if f"## {a}" in text} >= {"CLI", "API", "checkpoint", "weights"}
