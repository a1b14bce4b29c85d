"""The Live tab in a real browser with a fake camera: Chromium plays a .y4m file (written here
from the bundled judo clip) as its webcam. Opens the Live tab, streams, freezes a frame, clicks
the target, tracks, checks that segmented frames come back and the frame counter advances,
downloads the session; and checks that leaving the page frees the visitor's live session.

Runs in CI like the other browser tests (tiny random weights: the masks mean nothing, the
pipeline is real).
"""

from __future__ import annotations

import re
import time
import zipfile
from pathlib import Path

import cv2
import pytest

from ..app_fixtures import app_env, app_examples, app_server, app_url, app_weights  # noqa: F401  (fixtures)
from .browser_support import CHROMIUM, CHROMIUM_ARGS, require_browser, save_download

pytestmark = pytest.mark.browser

JUDO_TARGET = (180 / 330, 60 / 186)  # a fighter in frame 0 of judo.mp4, as fractions of width and height


def write_y4m(path: Path, frames, fps: int = 10) -> Path:
    """YUV4MPEG2 (4:2:0), the format Chromium's --use-file-for-fake-video-capture plays (looped)."""
    h, w = frames[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


@pytest.fixture(scope="module")
def fake_camera(tmp_path_factory) -> Path:
    from xmem_demo.resources import EXAMPLE_CLIP
    from xmem_demo.video import open_video

    with open_video(EXAMPLE_CLIP) as video:
        frames = list(video.iter_frames(0, 20))
    return write_y4m(tmp_path_factory.mktemp("camera") / "judo.y4m", frames)


@pytest.fixture(scope="module")
def camera_browser(fake_camera):
    require_browser()
    from playwright.sync_api import sync_playwright

    args = CHROMIUM_ARGS + [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={fake_camera}",
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        yield browser
        browser.close()


def counter(page, pattern: str) -> int:
    text = page.locator("#live-status").inner_text()
    found = re.search(pattern, text)
    return int(found.group(1)) if found else -1


def wait_for_count(page, pattern: str, at_least: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = counter(page, pattern)
        if n >= at_least:
            return n
        time.sleep(0.2)
    raise AssertionError(f"'{pattern}' did not reach {at_least}: {page.locator('#live-status').inner_text()}")


def click_fraction(page, selector: str, fx: float, fy: float) -> None:
    """Click at (fx, fy) of the image shown in `selector` (object-fit: contain, centred)."""
    img = page.locator(f"{selector} img").first
    img.wait_for(state="visible")
    box = img.bounding_box()
    nat_w, nat_h = img.evaluate("e => [e.naturalWidth, e.naturalHeight]")
    shown = min(box["width"] / nat_w, box["height"] / nat_h, 1.0)
    left = box["x"] + (box["width"] - nat_w * shown) / 2
    top = box["y"] + (box["height"] - nat_h * shown) / 2
    page.mouse.click(left + fx * nat_w * shown, top + fy * nat_h * shown)


def start_live(page, url: str, size: str | None = None, segmented: int = 2, timeout: float = 120) -> None:
    """Open the Live tab, start the camera stream, freeze a frame, click the target, press Track;
    return once `segmented` frames are segmented. `size`: a processing size to type into the
    tab (e.g. "240"; None keeps auto). benchmarks/live_browser.py starts its runs with it too."""
    page.goto(url)
    page.get_by_role("tab", name="Live (camera)").click()
    if size is not None:
        box = page.locator("#live-size input").first
        box.click()
        box.fill(f"{size} px")
        box.press("Enter")
    page.locator("#live-camera").get_by_text("Click to Access Webcam").click()
    page.locator("#live-camera button", has_text="Record").first.click()
    wait_for_count(page, r"received by the server: (\d+)", 3)
    page.locator("#live-freeze").click()
    page.get_by_text("annotating").first.wait_for()
    click_fraction(page, "#live-frozen", *JUDO_TARGET)
    page.locator("#live-frozen img").first.wait_for()
    time.sleep(1.0)
    page.locator("#live-track").click()
    wait_for_count(page, r"frames segmented: (\d+)", segmented, timeout=timeout)


def test_live_tab_tracks_the_fake_camera(camera_browser, app_server, app_url, tmp_path):
    context = camera_browser.new_context(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    start_live(page, app_url)
    assert "not the official XMem" in page.locator("#live-status").inner_text()  # which model runs is shown
    assert "processing size" in page.locator("#live-status").inner_text()

    first = counter(page, r"frames segmented: (\d+)")
    src_before = page.locator("#live-output img").get_attribute("src")
    later = wait_for_count(page, r"frames segmented: (\d+)", first + 3, timeout=90)
    assert later > first
    src_after = page.locator("#live-output img").get_attribute("src")
    assert src_after.startswith("data:image/jpeg;base64,") and src_after != src_before  # new overlays arrive
    page.screenshot(path=str(tmp_path / "live.png"), full_page=True)

    # The server segmented what the browser counted: one live session, tracking, its masks not empty.
    (session,) = [app_server.live_sessions.get(h) for h in app_server.live_sessions.open_sessions()]
    assert session.phase == "tracking" and session.tracker.stats.frames >= later
    assert session.last_result.labels.shape == session.latest.shape[:2]

    # Freeze while tracking shows the new frame at once (issue 25 saw over 40 s under load; here
    # 0.3-0.8 s at load average 9-11, 2 cores). The bound is loose for CI machines.
    src = page.locator("#live-frozen img").first.get_attribute("src")
    started = time.monotonic()
    page.locator("#live-freeze").click()
    page.wait_for_function(
        "s => { const i = document.querySelector('#live-frozen img'); return i && i.src !== s && i.complete; }", arg=src
    )
    assert time.monotonic() - started < 10, "Freeze took more than 10 s to show the frame"

    page.locator("#live-stop").click()
    page.get_by_text("Stopped").first.wait_for()
    bundle = save_download(page, "#live-dl-bundle", tmp_path / "live_session.zip")
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        assert {"overlay.mp4", "masks.zip", "memory_trace.csv", "session.json"} <= names
        rows = zf.read("memory_trace.csv").decode().strip().splitlines()
    assert len(rows) - 1 >= later  # one trace row per segmented frame (header excluded)
    context.close()


def test_leaving_the_page_frees_the_live_session(camera_browser, app_server, app_url):
    registry = app_server.live_sessions
    before = set(registry.open_sessions())
    context = camera_browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(60_000)
    start_live(page, app_url)
    (new_hash,) = set(registry.open_sessions()) - before
    session = registry.get(new_hash)
    folder = session.folder
    assert session.tracker is not None and folder.exists()

    context.close()  # the visitor closes the tab
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and (new_hash in registry.open_sessions() or not session.closed):
        time.sleep(0.25)
    assert new_hash not in registry.open_sessions(), "the live session was not freed after the page closed"
    assert session.closed and session.tracker is None and session.latest is None and session.frozen is None
    assert not folder.exists()
