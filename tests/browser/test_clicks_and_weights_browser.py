"""In a real browser: rapid clicks all count, in order; weights errors leave a usable page.

* Four clicks made without waiting (each while the previous one is being segmented) must all
  appear as markers on the frame and be listed, in order, in the replay bundle's clicks.json.
* Offline (XMEM_DEMO_OFFLINE=1, as in CI), choosing the official weights says so at once in the
  banner; Track then fails with a message, and afterwards the banner, the weights menu and the
  progress line carry no 'Error' badge, the progress line says why, and tracking with other
  weights works. The download button is off offline, its label saying why.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from ..app_fixtures import CLIP_FRAMES, CLIP_W
from .browser_support import click_image_at, image_point, open_page, save_download, shown_frame, wait_for_example

pytestmark = pytest.mark.browser

# Around and on the red disc of frame 0 (centre (30, 48), radius 14), far enough apart that
# their markers do not overlap at the display scale (7.5x).
RAPID_CLICKS = [(30, 48), (22, 42), (38, 54), (30, 38)]
MARKER_GREEN = np.array([40, 200, 60])


def load_tiny_example(page) -> None:
    """The page loads the example by itself: wait for it (a click on Load example now would
    reload it while the test's first click is being applied)."""
    wait_for_example(page, CLIP_FRAMES)


def markers_shown(image: np.ndarray, clicks) -> list[bool]:
    """Whether a positive-click marker (green disc) is drawn at each click."""
    scale = image.shape[1] / CLIP_W
    radius = max(4, round(min(image.shape[:2]) / 60))
    green = np.abs(image.astype(int) - MARKER_GREEN).sum(axis=2) < 60
    out = []
    for x, y in clicks:
        cx, cy = round(x * scale), round(y * scale)
        patch = green[max(cy - radius, 0) : cy + radius + 1, max(cx - radius, 0) : cx + radius + 1]
        out.append(int(patch.sum()) >= radius * radius)  # a filled disc has ~3 r^2 pixels
    return out


def has_error_badge(page, selector: str) -> bool:
    return any(line.strip() == "Error" for line in page.locator(selector).first.inner_text().splitlines())


def test_rapid_clicks_all_count_in_order(browser, app_url, tmp_path):
    page = open_page(browser, app_url)
    load_tiny_example(page)
    point = image_point(page, "#frame-image", CLIP_W)
    for x, y in RAPID_CLICKS:  # back to back: each while the previous one is being processed
        page.mouse.click(*point(x, y))
    page.get_by_text("Annotated frames: 0 (1 obj)").wait_for()
    shown = []
    for _ in range(60):  # the queued clicks are applied one after the other
        shown = markers_shown(shown_frame(page), RAPID_CLICKS)
        if all(shown):
            break
        page.wait_for_timeout(500)
    if not all(shown):
        Image.fromarray(shown_frame(page)).save(tmp_path / "frame.png")
    assert all(shown), f"markers shown per click: {shown} (frame: {tmp_path / 'frame.png'})"

    page.locator("#track").click()
    page.locator("#result-info").get_by_text(f"{CLIP_FRAMES} frames").wait_for(timeout=120_000)
    bundle = save_download(page, "#dl-bundle", tmp_path / "bundle.zip")
    with zipfile.ZipFile(bundle) as zf:
        clicks = json.loads(zf.read("clicks.json"))
    got = [(c["x"], c["y"], c["positive"]) for c in clicks["0"]["1"]["clicks"]]
    assert got == [(x, y, True) for x, y in RAPID_CLICKS]

    # A new clip: the (disabled) download buttons no longer show the old run's file sizes.
    assert "KB" in page.locator("#dl-masks").inner_text() or "MB" in page.locator("#dl-masks").inner_text()
    page.locator("#load-example").click()
    page.locator("#progress").get_by_text("Click the object, then press Track.").wait_for()
    for selector in ("#dl-masks", "#dl-overlay", "#dl-objects", "#dl-bundle"):
        text = page.locator(selector).inner_text()
        assert "KB" not in text and "MB" not in text, (selector, text)
    page.close()


def test_official_weights_offline_say_so_and_leave_a_usable_page(browser, app_url, app_weights):
    page = open_page(browser, app_url)
    page.locator("#advanced").get_by_text("Advanced settings").first.click()
    choice = page.locator("#weights input").first
    choice.click()
    choice.fill("official XMem")
    page.get_by_role("option", name="official XMem (XMem.pth, downloaded once)").click()
    banner = page.locator("#weights-banner")
    banner.get_by_text("cannot be used here").wait_for()
    assert "XMEM_DEMO_OFFLINE=1" in banner.inner_text()  # said before Track, not after

    load_tiny_example(page)
    click_image_at(page, "#frame-image", 30, 48, CLIP_W)
    page.get_by_text("Annotated frames: 0 (1 obj)").wait_for()
    page.locator("#track").click()
    page.locator("#progress").get_by_text("Track failed").wait_for()
    page.wait_for_timeout(1500)  # let the failure listener refresh the outputs
    for selector in ("#weights-banner", "#weights", "#progress", "#frame-image"):
        assert page.locator(selector).first.is_visible(), selector
        assert not has_error_badge(page, selector), f"{selector} is covered by an Error badge"
    progress = page.locator("#progress").inner_text()
    assert "failed" in progress and "loading weights" not in progress
    assert "http" not in progress  # one sentence; the download URL and the cache path are folded under Details
    assert "cannot be used here" in banner.inner_text()

    # Offline the download button is off and says why (not a button that fails after seconds).
    download = page.locator("#download-weights")
    assert download.is_disabled() and "downloads are switched off" in download.inner_text()

    # Still usable: back to the working weights, Track runs.
    choice.click()
    choice.fill("file:")
    page.get_by_role("option", name=f"file: {app_weights}").click()
    banner.get_by_text("weights from").wait_for()
    page.locator("#track").click()
    page.locator("#result-info").get_by_text(f"{CLIP_FRAMES} frames").wait_for(timeout=120_000)
    page.close()
