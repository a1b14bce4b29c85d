"""The app through its HTTP API (gradio_client), as remote visitors use it."""

from __future__ import annotations

import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .app_fixtures import BAD_CLIP_MESSAGES, CLIP_FRAMES, disc_centre, make_frames, track_args
from .support import write_clip

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

# Output positions (gr.State is not returned to API clients).
LOAD = dict(image=0, status=4, editor=5, clip_info=6)
VIEW = dict(image=0, legend=1, objects=2, name=3, status=4)
TRACK = dict(progress=0, video=3, info=4, masks=5, overlay=6, objects=7, bundle=8, banner=9, status=14)


def client(url: str) -> Client:
    return Client(url, verbose=False)


def path_of(value) -> Path:
    """A file output: a path, a video {'video': path}, or a component update {'value': path}."""
    while isinstance(value, dict):
        value = value.get("video") or value.get("value") or value.get("path")
    return Path(value)


video_path = path_of


def masks_in(zip_path) -> list[str]:
    with zipfile.ZipFile(path_of(zip_path)) as zf:
        return sorted(zf.namelist())


@pytest.fixture(scope="module")
def other_clip(tmp_path_factory) -> Path:
    """A second clip, different from the example: 10 frames, mirrored."""
    frames = [f[:, ::-1].copy() for f in make_frames(10)]
    return write_clip(tmp_path_factory.mktemp("other") / "other.mp4", frames)


def test_endpoints_are_named(app_url):
    names = set(client(app_url).view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert {
        "/load_example",
        "/load_clip",
        "/set_frame",
        "/click",
        "/undo",
        "/clear_frame",
        "/add_object",
        "/select_object",
        "/rename_object",
        "/upload_mask",
        "/apply_brush",
        "/track",
        "/stop",
    } <= names


def test_track_takes_the_memory_settings_by_name(app_url):
    """/track's parameters: weights, device, working size, frame range, then every memory setting
    the app offers under its MemoryConfig field name (one list: MemoryConfig.settings())."""
    from xmem_demo.app.clip_tab.tracking import app_memory_settings, default_memory

    endpoint = client(app_url).view_api(return_format="dict", print_info=False)["named_endpoints"]["/track"]
    names = [p["parameter_name"] for p in endpoint["parameters"]]
    assert names == ["weights", "device", "working_size", "first", "last", *app_memory_settings()]
    defaults = {p["parameter_name"]: p.get("parameter_default") for p in endpoint["parameters"] if p["parameter_has_default"]}
    assert {name: defaults.get(name) for name in app_memory_settings()} == default_memory()  # unnamed: official


def test_example_click_track_downloads(app_url, app_weights):
    c = client(app_url)
    out = c.predict("tiny.mp4", api_name="/load_example")
    assert "12 frames" in out[LOAD["clip_info"]] and "128×96" in out[LOAD["clip_info"]]
    out = c.predict(*disc_centre(0), True, api_name="/click")
    assert out[VIEW["status"]].startswith("Annotated frames: 0")
    out = c.predict(**track_args(app_weights), api_name="/track")
    assert "12 frames" in out[TRACK["info"]] and "Stopped" not in out[TRACK["info"]]
    assert video_path(out[TRACK["video"]]).stat().st_size > 0
    assert masks_in(out[TRACK["masks"]]) == [f"tiny/{t:05d}.png" for t in range(CLIP_FRAMES)]
    for key in ("overlay", "objects", "bundle"):
        assert path_of(out[TRACK[key]]).stat().st_size > 0
    assert "weights from" in out[TRACK["banner"]]  # not the official weights: the banner says so


def test_two_visitors_never_share_state(app_url, app_weights, other_clip):
    """Two clients at once: each sees only its own clip, clicks and results."""
    a, b = client(app_url), client(app_url)
    assert a.session_hash != b.session_hash
    barrier = threading.Barrier(2)

    def visitor_a():
        a.predict("tiny.mp4", api_name="/load_example")
        barrier.wait()
        a.predict(*disc_centre(0), True, api_name="/click")
        return a.predict(**track_args(app_weights), api_name="/track")

    def visitor_b():
        b.predict(handle_file(str(other_clip)), api_name="/load_clip")
        barrier.wait()
        b.predict(3, api_name="/set_frame")
        b.predict(127 - disc_centre(3)[0], disc_centre(3)[1], True, api_name="/click")
        b.predict(api_name="/add_object")
        b.predict("second", api_name="/rename_object")
        return b.predict(**track_args(app_weights, last=9), api_name="/track")

    with ThreadPoolExecutor(2) as pool:
        fa, fb = pool.submit(visitor_a), pool.submit(visitor_b)
        out_a, out_b = fa.result(timeout=300), fb.result(timeout=300)
    assert masks_in(out_a[TRACK["masks"]]) == [f"tiny/{t:05d}.png" for t in range(12)]
    assert masks_in(out_b[TRACK["masks"]]) == [f"other/{t:05d}.png" for t in range(10)]
    assert out_a[TRACK["status"]].startswith("Annotated frames: 0 (1 obj)")
    assert out_b[TRACK["status"]].startswith("Annotated frames: 3 (1 obj)")
    assert "second" not in out_a[TRACK["status"]] and "second" not in str(a.predict(0, api_name="/set_frame"))
    assert "second" in str(b.predict(0, api_name="/set_frame")[VIEW["legend"]])


@pytest.mark.parametrize("kind, message", BAD_CLIP_MESSAGES)
def test_bad_uploads_give_a_message(app_url, bad_files, kind, message):
    if kind not in bad_files:
        pytest.skip("ffmpeg could not write a zero-frame clip here")
    c = client(app_url)
    with pytest.raises(AppError, match=message):
        c.predict(handle_file(str(bad_files[kind])), api_name="/load_clip")
    # The server is still fine for this visitor.
    assert "12 frames" in c.predict("tiny.mp4", api_name="/load_example")[LOAD["clip_info"]]


def test_clip_over_the_limit_is_refused(app_url, app_examples, monkeypatch):
    monkeypatch.setattr("xmem_demo.app.clip_tab.clip.MAX_FRAMES", 10)
    with pytest.raises(AppError, match="at most 10 frames"):
        client(app_url).predict(handle_file(str(app_examples / "tiny.mp4")), api_name="/load_clip")


def test_track_without_object_or_clip(app_url, app_weights):
    c = client(app_url)
    with pytest.raises(AppError, match="load a clip first"):
        c.predict(**track_args(app_weights), api_name="/track")
    with pytest.raises(AppError, match="load a clip first"):
        c.predict(3, 3, True, api_name="/click")
    c.predict("tiny.mp4", api_name="/load_example")
    with pytest.raises(AppError, match="no object selected"):
        c.predict(**track_args(app_weights), api_name="/track")
    with pytest.raises(AppError, match="not in the list of choices|not one of the bundled examples"):
        c.predict("../../etc/passwd", api_name="/load_example")
    c.predict(*disc_centre(0), True, api_name="/click")
    with pytest.raises(AppError, match="invalid memory settings"):
        c.predict(**track_args(app_weights, min_mid_term_frames=8, max_mid_term_frames=4), api_name="/track")


def test_stop_keeps_the_frames_done(app_url, app_weights, monkeypatch):
    import xmem_demo.app.clip_tab.tracking as tracking

    real_track = tracking.track

    def slow_track(*args, **kwargs):
        for result in real_track(*args, **kwargs):
            time.sleep(0.25)
            yield result

    monkeypatch.setattr(tracking, "track", slow_track)
    monkeypatch.setattr(tracking, "PREVIEW_INTERVAL_S", 0.0)
    c = client(app_url)
    c.predict("tiny.mp4", api_name="/load_example")
    c.predict(*disc_centre(0), True, api_name="/click")
    job = c.submit(**track_args(app_weights), api_name="/track")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any("forward" in str(o) for o in job.outputs()):
        time.sleep(0.05)
    time.sleep(0.3)
    c.predict(api_name="/stop")
    out = job.result(timeout=120)
    assert out[TRACK["info"]].startswith("Stopped early")
    done = masks_in(out[TRACK["masks"]])
    assert 0 < len(done) < CLIP_FRAMES
    assert video_path(out[TRACK["video"]]).stat().st_size > 0


def test_mask_upload_and_correction_retrack(app_url, app_weights, tmp_path):
    import numpy as np

    from xmem_demo.video import write_index_mask

    c = client(app_url)
    c.predict("tiny.mp4", api_name="/load_example")
    mask = np.zeros((96, 128), np.uint8)
    mask[34:63, 16:45] = 1
    write_index_mask(tmp_path / "m.png", mask)
    out = c.predict(handle_file(str(tmp_path / "m.png")), api_name="/upload_mask")
    assert out[VIEW["status"]].startswith("Annotated frames: 0 (1 obj)")
    c.predict(**track_args(app_weights), api_name="/track")
    c.predict(7, api_name="/set_frame")
    c.predict(api_name="/add_object")
    c.predict(100, 60, True, api_name="/click")
    out = c.predict(**track_args(app_weights), api_name="/track")
    # Frame 7 is annotated with the new object only: object 1's tracked mask there is shown but
    # not frozen into an annotation (the tracker keeps tracking it).
    assert out[TRACK["status"]].startswith("Annotated frames: 0 (1 obj), 7 (1 obj)")
    assert "12 frames" in out[TRACK["info"]]


def test_session_files_are_removed(app_server, app_url):
    from xmem_demo.app.folders import session_dir_for

    c = client(app_url)
    c.predict("tiny.mp4", api_name="/load_example")
    folder = session_dir_for(c.session_hash)
    assert folder.is_dir()
    # The tab closes: gradio deletes the session's gr.State, whose delete callback removes the folder.
    app_server.state_holder.delete_state(c.session_hash)
    assert not folder.exists()
    # demo.unload's callbacks (the clip tab's and the live tab's) do the same from the session hash alone.
    c.predict("tiny.mp4", api_name="/load_example")
    assert folder.is_dir()
    unloads = [fn for fn in app_server.fns.values() if any(t[1] == "unload" for t in fn.targets)]
    for unload in unloads:
        unload.fn(type("Request", (), {"session_hash": c.session_hash})())
    assert not folder.exists()
