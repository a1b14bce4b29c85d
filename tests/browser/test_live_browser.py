"""The Live tab in a real browser with a fake camera: Chromium plays a .y4m file (written here
from the bundled judo clip) as its webcam. Opens the Live tab, streams, freezes a frame, clicks
the target, tracks, checks that segmented frames come back and the frame counter advances,
downloads the session; and checks that leaving the page frees the visitor's live session.

Runs in CI like the other browser tests (tiny random weights: the masks mean nothing, the
pipeline is real).
"""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest

from .browser_support import (CHROMIUM, CHROMIUM_ARGS, counter, require_browser, save_download, start_live,
                              wait_for_count, write_y4m)

pytestmark = pytest.mark.browser

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
