"""Fixtures for the app tests: tiny clips, a tiny random model, and a running app server.

Its fixtures reach every test through `pytest_plugins` (tests/conftest.py); its helpers
(`make_frames`, `disc_centre`, the app launchers) are imported by name.
Everything is small enough for a 2-core CI machine: 12 frames of 96x128, working size 96.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest

from .conftest import TINY
from .support import write_clip

REPO = Path(__file__).resolve().parents[1]
CLIP_FRAMES, CLIP_H, CLIP_W = 12, 96, 128


def disc_centre(t: int) -> tuple[int, int]:
    """(x, y) of the moving red disc in frame t of the tiny clip."""
    return 30 + 5 * t, 48


def make_frames(n: int = CLIP_FRAMES, h: int = CLIP_H, w: int = CLIP_W) -> list[np.ndarray]:
    """A red disc moving right and a blue square, on a smooth green-grey background."""
    rng = np.random.default_rng(0)
    background = cv2.GaussianBlur(rng.integers(60, 140, (h, w, 3), dtype=np.uint8), (0, 0), 3)
    background[..., 1] = np.clip(background[..., 1].astype(int) + 30, 0, 255)
    frames = []
    for t in range(n):
        f = background.copy()
        cv2.circle(f, disc_centre(t), 14, (220, 30, 30), thickness=-1)
        cv2.rectangle(f, (90, 62 - t), (112, 84 - t), (30, 40, 210), thickness=-1)
        frames.append(f)
    return frames


def write_zero_frame_mp4(path: Path) -> Path:
    """A well-formed MP4 with a video stream and no frames."""
    import imageio_ffmpeg

    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=64x48:r=10",
            "-frames:v",
            "0",
            "-c:v",
            "libx264",
            str(path),
        ],
        check=True,
    )
    return path


@pytest.fixture(scope="session")
def app_examples(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("examples")
    write_clip(folder / "tiny.mp4", make_frames())
    return folder


# Each bad file of `bad_files` and the message (a regular expression) a visitor gets for it,
# through the actions (test_app_units) and through the HTTP API (test_app_api).
BAD_CLIP_MESSAGES = [
    ("corrupt", "cannot be read as a video"),
    ("empty", "empty file"),
    ("unsupported", "not a supported video"),
    ("zero_frames", "no frames|cannot be read as a video"),
]


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    corrupt = folder / "corrupt.mp4"
    corrupt.write_bytes(os.urandom(4096))
    empty = folder / "empty.mp4"
    empty.write_bytes(b"")
    text = folder / "notes.txt"
    text.write_text("not a video")
    files = {"corrupt": corrupt, "empty": empty, "unsupported": text}
    try:
        files["zero_frames"] = write_zero_frame_mp4(folder / "zero.mp4")
    except (subprocess.CalledProcessError, OSError):
        pass
    return files


@pytest.fixture(scope="session")
def app_weights(tmp_path_factory) -> Path:
    """A tiny randomly initialised XMem checkpoint (its masks mean nothing; it is fast)."""
    import torch

    from xmem_demo import ModelConfig, XMem, save_checkpoint

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "tiny-random.pth"
    save_checkpoint(XMem(ModelConfig(**TINY)), path, model_card="random tiny model for app tests")
    return path


@contextmanager
def app_environment(app_weights: Path, app_examples: Path, tmp_path_factory, extra: dict[str, str] | None = None):
    """The app's environment (the tiny model, the tiny example, offline, its own caches), plus
    `extra`, set while the block runs and restored afterwards: other tests never see it."""
    env = {
        "XMEM_DEMO_WEIGHTS": str(app_weights),
        "XMEM_DEMO_OFFLINE": "1",
        "XMEM_DEMO_EXAMPLES": str(app_examples),
        "XMEM_DEMO_CACHE": str(tmp_path_factory.mktemp("cache")),
        # Gradio's file cache of its own: /tmp/gradio is shared by every Gradio process on the
        # machine, and the tiny clip's frames hash to the same file names in each, so another
        # run's cleanup could delete a file this server is about to serve (a 403 seen with two
        # test runs at once).
        "GRADIO_TEMP_DIR": str(tmp_path_factory.mktemp("gradio")),
        "GRADIO_ANALYTICS_ENABLED": "False",
        **(extra or {}),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def app_env(app_weights: Path, app_examples: Path, tmp_path_factory) -> dict[str, str]:
    """The app's environment for one test module (`app_environment`)."""
    with app_environment(app_weights, app_examples, tmp_path_factory) as env:
        yield env


@pytest.fixture()
def loaded(app_env, app_examples, tmp_path):
    """A visitor's AppState with the tiny clip loaded (its session folder removed afterwards)."""
    from xmem_demo.app.clip_tab import actions
    from xmem_demo.app.clip_tab.state import AppState, cleanup_state, ensure_session_dir

    state = AppState()
    ensure_session_dir(state, f"state-{tmp_path.name}")
    actions.load_example(state, "tiny.mp4")
    yield state
    cleanup_state(state)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served_app():
    """The app (gr.Blocks) built from the current environment and served in this process on a
    free port of 127.0.0.1 while the block runs."""
    from xmem_demo.app import build_demo, launch_options

    demo = build_demo()
    demo.launch(
        server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True, **launch_options()
    )
    try:
        yield demo
    finally:
        demo.close()


@pytest.fixture(scope="module")
def app_server(app_env):
    """The app served for one test module, in `app_env` (`served_app`)."""
    with served_app() as demo:
        yield demo


@pytest.fixture(scope="module")
def app_url(app_server) -> str:
    return app_server.local_url


def wait_for_http(url: str, timeout: float = 60.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def launch_subprocess(env: dict[str, str], port: int) -> subprocess.Popen:
    """`python app.py` as a visitor would run it."""
    return subprocess.Popen(
        [sys.executable, str(REPO / "app.py"), "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


# The /track inputs by name: weights, device, working size, frame range, and the memory settings
# under MemoryConfig's field names (small values so that consolidation happens in 12 frames).
DEFAULT_TRACK = dict(
    weights=None, device="cpu", working_size=96, mem_every=3, top_k=30, min_mid_term_frames=2,
    max_mid_term_frames=4, num_prototypes=16, max_long_term_elements=1000, enable_long_term=True,
)  # fmt: skip


def track_args(app_weights: Path, first: int = 0, last: int = CLIP_FRAMES - 1, **changes) -> dict:
    """Keyword inputs of the /track endpoint (`client.predict(**track_args(w), api_name="/track")`)."""
    return {**DEFAULT_TRACK, "weights": str(app_weights), "first": first, "last": last, **changes}
