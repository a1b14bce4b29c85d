"""Helpers that several test files share (fixtures live in conftest.py).

* `square_frames` / `square_mask`: the small clip the CLI tests run on, a red 16x16 square
  moving right over grey, and its first-frame mask; `write_clip` saves frames as an MP4 (the
  one MP4 writer of the tests);
* `save_tiny_checkpoint`: a random TINY model saved as a checkpoint (seeded: the same file
  every time);
* `Segment` / `run_cli`: an `xmem-demo segment` command line, and `xmem-demo` run in this
  process with its exit code and output as a user sees them;
* `SMALL_MEMORY` / `small_memory_run`: memory settings that consolidate and forget within a few
  frames, and a seeded random clip run through them (the figures' and the events' tests);
* `http_server` / `point_downloads_at` / `weights_host`: a local server standing in for the
  weights host; `file_host` serves given files (optionally cut off), `QuietHandler` logs nothing.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xmem_demo import MemoryConfig

from .conftest import TINY

H, W = 48, 64  # the clip's frame size (a 4:3 clip, 3 x 4 cells of the 16-pixel grid)


def square_frames(n: int, step: int = 3) -> list[np.ndarray]:
    """n frames, H x W x 3: a red 16x16 square at rows 10..25, x = 4 + (step * t) % 40."""
    frames = []
    for t in range(n):
        frame = np.full((H, W, 3), 40, np.uint8)
        x = 4 + (step * t) % 40
        frame[10:26, x : x + 16] = (220, 60, 60)
        frames.append(frame)
    return frames


def write_clip(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    """Frames (H x W x 3 uint8) as an H.264 MP4 at `path`, with the package's own writer."""
    from xmem_demo.video import Mp4Writer

    with Mp4Writer(path, fps=fps) as writer:
        for f in frames:
            writer.write(f)
    return path


def square_mask(label: int = 1) -> np.ndarray:
    """The first frame's square as an H x W index mask with id `label`."""
    mask = np.zeros((H, W), np.uint8)
    mask[10:26, 4:20] = label
    return mask


# r = 1, T_min = 2, T_max = 3, P = 4, L_max = 10: a consolidation every frame from frame 3,
# forgetting from the third one.
SMALL_MEMORY = MemoryConfig(mem_every=1, min_mid_term_frames=2, max_mid_term_frames=3, num_prototypes=4,
                            max_long_term_elements=10, count_long_term_usage=True)


def small_memory_run(model, num_frames: int, hw: tuple[int, int], box: tuple[slice, slice], seed: int,
                     probe: list[tuple[int, int]] | None = None):
    """Random frames (seeded) through SMALL_MEMORY, object 1 given on frame 0 as the `box` region,
    every frame probed at the `probe` cells; returns (frames, index masks, FrameRecords)."""
    from xmem_demo import InferenceSession, RecordCollector

    frames = np.random.default_rng(seed).integers(0, 256, (num_frames, *hw, 3), dtype=np.uint8)
    mask = np.zeros(hw, np.uint8)
    mask[box] = 1
    session = InferenceSession(model, SMALL_MEMORY, num_frames=num_frames)
    collector = RecordCollector()
    session.add_hook(collector)
    if probe is not None:
        session.set_probe(probe)
    masks = []
    for t, frame in enumerate(frames):
        prob = session.step(frame, mask=mask if t == 0 else None, end=t == num_frames - 1)
        masks.append(session.to_index_mask(prob))
    return frames, masks, collector.records


def save_tiny_checkpoint(path: Path, **kwargs):
    """Save a randomly initialised TINY XMem (seed 0) to `path`; returns the model."""
    import torch

    from xmem_demo import ModelConfig, XMem, save_checkpoint

    torch.manual_seed(0)
    model = XMem(ModelConfig(**TINY))
    save_checkpoint(model, path, **kwargs)
    return model


def tiny_counts_as_official(monkeypatch) -> None:
    """Let the TINY network pass the official-architecture check (weights.official_shapes), so
    that tests of downloads, digests and caching can serve a fast 1 MB file as XMem.pth."""
    import torch

    from xmem_demo import ModelConfig, XMem, weights

    torch.manual_seed(0)
    shapes = {k: list(v.shape) for k, v in XMem(ModelConfig(**TINY)).state_dict().items()}
    table = {"tables": {"xmem": shapes, "xmem-no-sensory": shapes}, "variants": dict.fromkeys(weights.OFFICIAL_FILES, "xmem")}
    monkeypatch.setattr(weights, "official_shapes", lambda: table)


@dataclass(frozen=True)
class Segment:
    """An `xmem-demo segment` command on the files of one folder, given by what differs from a
    good one: `Segment(mask="small.png").argv(folder)`.

    video/mask/out/weights are names in the folder (absolute paths stay absolute; a weights
    value without .pth is a weights name, None leaves --weights out); `{f}` in `extra` stands
    for the folder."""

    video: str = "clip.mp4"
    mask: str = "mask.png"
    out: str = "out"
    weights: str | None = "tiny.pth"
    extra: tuple[str, ...] = ()

    def argv(self, f: Path) -> list[str]:
        argv = ["segment", str(f / self.video), "--mask", str(f / self.mask), "--out", str(f / self.out)]
        if self.weights is not None:
            argv += ["--weights", str(f / self.weights) if self.weights.endswith(".pth") else self.weights]
        return argv + [a.format(f=f) for a in self.extra]


def flags(*extra: str) -> Segment:
    """The good command plus these flags."""
    return Segment(extra=extra)


@dataclass(frozen=True)
class CliRun:
    code: int  # the exit status a shell would see (argparse's SystemExit included)
    out: str
    err: str

    @property
    def error(self) -> str:
        """The last line written to stderr (where the CLI's one-line error goes)."""
        lines = [line for line in self.err.splitlines() if line.strip()]
        return lines[-1] if lines else ""


def run_cli(argv: list[str], capsys) -> CliRun:
    """Run `xmem-demo argv` in this process; stdout and stderr as captured by pytest's capsys."""
    from xmem_demo.cli import main

    try:
        code = main(argv)
    except SystemExit as exc:  # argparse refuses a flag by exiting
        code = exc.code
    captured = capsys.readouterr()
    return CliRun(code, captured.out, captured.err)


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that does not print a line per request."""

    def log_message(self, *args):
        pass


class FileHost(QuietHandler):
    """Serves `files` by name (the last part of the URL's path; any other name is a 404). A file
    named in `truncate` is cut off: the full Content-Length is announced, a third is sent, the
    connection closes (a download interrupted half-way). Make one with `file_host`."""

    files: dict[str, bytes] = {}
    truncate: frozenset[str] = frozenset()

    def do_GET(self):  # noqa: N802
        name = self.path.rsplit("/", 1)[-1]
        if name not in self.files:
            self.send_error(404, "Not Found")
            return
        body = self.files[name]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 3] if name in self.truncate else body)


def file_host(files: dict[str, bytes], truncate: tuple[str, ...] | set[str] = ()) -> type[FileHost]:
    """A `FileHost` handler class for these files (pass it to `http_server`)."""
    return type("FileHost", (FileHost,), {"files": dict(files), "truncate": frozenset(truncate)})


@contextmanager
def http_server(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[http.server.ThreadingHTTPServer]:
    """A local HTTP server on a free port, serving in a daemon thread until the block ends."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    # shutdown() waits for the serving loop to look up: every 0.05 s, not the default 0.5 s that
    # each test using a server paid once more at teardown
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def server_url(httpd: http.server.ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}"


def point_downloads_at(monkeypatch, url: str, cache: Path) -> None:
    """Official weights come from `url` into `cache`, downloads allowed (CI sets XMEM_DEMO_OFFLINE)."""
    monkeypatch.setenv("XMEM_DEMO_WEIGHTS_URL", url)
    monkeypatch.setenv("XMEM_DEMO_CACHE", str(cache))
    monkeypatch.delenv("XMEM_DEMO_OFFLINE", raising=False)


@contextmanager
def weights_host(handler: type[http.server.BaseHTTPRequestHandler], monkeypatch, cache: Path, path: str = "/"):
    """`handler` served locally as the official weights' host: downloads go to it (URLs under
    `path`) and into `cache` while the block runs. Yields the server."""
    with http_server(handler) as httpd:
        point_downloads_at(monkeypatch, server_url(httpd) + path, cache)
        yield httpd


def wait_until(predicate, timeout: float, what: str, poll: float = 0.02) -> None:
    """Poll `predicate()` every `poll` s until it is true; AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")
