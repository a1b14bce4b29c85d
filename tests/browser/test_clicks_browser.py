"""Clicks in a real browser with the SAM 2.1 click model (random weights in the official format:
the real weights cannot be downloaded here): two clicks on one frame, a candidate switch, then a
click on a frame whose mask was propagated by tracking, which refines that mask.

What is checked is the behaviour the issue describes, not mask quality (the weights are random):
the page names the click model; the first click offers three candidates and computes the frame's
embedding; the second click reuses it (the counter in the status line) and refines (one mask);
a click on a tracked frame starts from the tracked mask (one mask, status says so) and the
shown mask changes each time.
"""

from __future__ import annotations

import numpy as np
import pytest

from ..app_fixtures import CLIP_FRAMES, CLIP_W, app_environment, disc_centre, served_app
from ..click_fixtures import TEST_IMAGE_SIZE
from .browser_support import click_image_at, open_page, shown_frame, wait_for_example

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def sam_app_url(app_weights, app_examples, sam2_checkpoint, tmp_path_factory):
    """The app as the other app tests serve it, plus the SAM 2.1 click model (random weights,
    small input size)."""
    click_model = {
        "XMEM_DEMO_CLICK_CHECKPOINT": str(sam2_checkpoint),
        "XMEM_DEMO_CLICK_IMAGE_SIZE": str(TEST_IMAGE_SIZE),
    }
    with app_environment(app_weights, app_examples, tmp_path_factory, click_model), served_app() as demo:
        yield demo.local_url


def wait_for_new_frame(page, before_src: str) -> None:
    page.wait_for_function(
        "s => { const i = document.querySelector('#frame-image img'); return i && i.src !== s; }", arg=before_src
    )


def src(page) -> str:
    img = page.locator("#frame-image img").first
    return img.get_attribute("src") if img.count() else ""


def test_two_clicks_candidates_and_a_click_on_a_tracked_frame(browser, sam_app_url):
    page = open_page(browser, sam_app_url)
    page.set_default_timeout(120_000)
    assert "SAM 2.1" in page.locator("#click-method").inner_text()  # the page says which click model runs
    wait_for_example(page, CLIP_FRAMES)  # loaded with the page
    status = page.locator("#annotation-status")

    # First click on frame 0: the frame is encoded once; three candidates are offered.
    plain = shown_frame(page)
    before = src(page)
    click_image_at(page, "#frame-image", *disc_centre(0), CLIP_W)
    status.get_by_text("1 frame embedding(s) computed, 0 reused").wait_for()
    wait_for_new_frame(page, before)
    first = shown_frame(page)
    assert not np.array_equal(first, plain)
    candidates = page.locator("#mask-candidates")
    assert candidates.is_visible() and candidates.locator("input[type=radio]").count() == 3

    # Another candidate: the shown mask changes, no new embedding.
    before = src(page)
    unchecked = candidates.locator("input[type=radio]:not(:checked)").first
    unchecked.check()
    wait_for_new_frame(page, before)
    switched = shown_frame(page)
    assert not np.array_equal(switched, first)

    # Second click on the same frame: the embedding is reused; it refines (one mask, no candidates).
    before = src(page)
    x, y = disc_centre(0)
    click_image_at(page, "#frame-image", x + 20, y + 20, CLIP_W)
    status.get_by_text("1 frame embedding(s) computed, 1 reused").wait_for()
    wait_for_new_frame(page, before)
    assert not candidates.is_visible()
    assert not np.array_equal(shown_frame(page), switched)

    # Track, then click on frame 5, whose mask was propagated: the click refines that mask.
    page.locator("#track").click()
    page.locator("#result-info").get_by_text(f"{CLIP_FRAMES} frames").wait_for(timeout=180_000)
    slider = page.locator("#frame-slider input[type=number]")
    slider.fill("5")
    slider.press("Enter")
    page.get_by_text("This frame shows the tracking result").wait_for()
    tracked = shown_frame(page)
    before = src(page)
    click_image_at(page, "#frame-image", *disc_centre(5), CLIP_W)
    status.get_by_text("Clicks here refine the mask this object already had on this frame").wait_for()
    status.get_by_text("2 frame embedding(s) computed").wait_for()
    wait_for_new_frame(page, before)
    assert not candidates.is_visible()  # the tracked mask was the prompt: one refined mask
    assert not np.array_equal(shown_frame(page), tracked)
    page.close()
