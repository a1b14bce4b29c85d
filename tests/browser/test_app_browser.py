"""The app in a real browser: load an example, click the object, track, get the video and the masks.

Runs in CI (Debian's Chromium via apt, Playwright from pip). Skipped locally only when
Chromium or Playwright is missing; with CI=true a missing browser fails the test.
"""

from __future__ import annotations

import zipfile

import pytest

from ..app_fixtures import CLIP_FRAMES, CLIP_W, disc_centre
from .browser_support import click_image_at, fetch_video, open_page, save_download, wait_for_example

pytestmark = pytest.mark.browser  # selection only (-m browser): it runs in the default suite and in CI


def test_the_page_opens_with_the_example_loaded(browser, app_url):
    """No click: the bundled example's first frame is shown, ready to click (issue 12)."""
    page = open_page(browser, app_url)
    wait_for_example(page, CLIP_FRAMES)
    assert page.locator("#frame-image img").first.evaluate("e => e.naturalWidth") > 0  # decoded, not a placeholder
    assert "Click the object, then press Track." in page.locator("#progress").inner_text()
    page.close()


def test_load_click_track_download(browser, app_url, tmp_path):
    page = open_page(browser, app_url)
    assert "weights" in page.locator("#weights-banner").inner_text().lower()  # which model runs is visible

    wait_for_example(page, CLIP_FRAMES)  # loaded with the page (Load example: test_clicks_and_weights_browser)
    page.screenshot(path=str(tmp_path / "app-loaded.png"), full_page=True)

    click_image_at(page, "#frame-image", *disc_centre(0), CLIP_W)
    page.get_by_text("Annotated frames: 0 (1 obj)").wait_for()

    page.locator("#track").click()
    page.locator("#result-info").get_by_text(f"{CLIP_FRAMES} frames").wait_for(timeout=120_000)
    page.screenshot(path=str(tmp_path / "app-tracked.png"), full_page=True)

    video = fetch_video(page, tmp_path / "overlay.mp4")
    assert video.stat().st_size > 1000
    masks = save_download(page, "#dl-masks", tmp_path / "masks.zip")
    with zipfile.ZipFile(masks) as zf:
        names = zf.namelist()
    assert len(names) == CLIP_FRAMES and all(n.endswith(".png") for n in names)
    page.close()


def test_bad_upload_shows_a_message(browser, app_url, bad_files):
    page = open_page(browser, app_url)
    page.get_by_role("tab", name="Upload", exact=True).click()
    page.locator("#upload-clip input[type=file]").set_input_files(str(bad_files["unsupported"]))
    page.get_by_text("not a supported video").first.wait_for()
    page.close()
