"""Driving the app in Debian's Chromium with Playwright (shared by the test and the screenshot script)."""

from __future__ import annotations

import base64
import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_browser() -> None:
    """Skip without Chromium or Playwright, except in CI (CI=true), where that is a failure."""
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"{CHROMIUM} (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install playwright)")
    if missing:
        msg = "browser test needs " + " and ".join(missing)
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def open_page(browser, url: str):
    """A new tab on the app, once the page is up (the weights banner shows)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.set_default_timeout(60_000)
    page.goto(url)
    page.locator("#weights-banner").wait_for()
    return page


def wait_for_image(page, selector: str) -> None:
    """Until the image in `selector` is decoded (an <img> can be visible before it has pixels)."""
    page.wait_for_function(
        "s => { const i = document.querySelector(s + ' img'); return !!i && i.complete && i.naturalWidth > 0; }",
        arg=selector,
    )


def wait_for_example(page, frames: int) -> None:
    """The example clip the page loads by itself (no click): its length is shown and its first
    frame is in the frame box."""
    page.locator("#clip-info").get_by_text(f"{frames} frames").first.wait_for()
    wait_for_image(page, "#frame-image")


def image_point(page, selector: str, width: int):
    """A function (x, y) -> page coordinates of pixel (x, y) of a frame `width` pixels wide,
    shown (resized, centred) in `selector`.

    Mirrors Gradio's own mapping: the browser shows the sent image shrunk to fit, never enlarged.
    """
    img = page.locator(f"{selector} img").first
    img.wait_for(state="visible")
    wait_for_image(page, selector)
    img.scroll_into_view_if_needed()  # mouse clicks land in the viewport only
    box = img.bounding_box()
    nat_w, nat_h = img.evaluate("e => [e.naturalWidth, e.naturalHeight]")
    sent = nat_w / width  # the server's display scale
    shown = min(box["width"] / nat_w, box["height"] / nat_h, 1.0)
    left = box["x"] + (box["width"] - nat_w * shown) / 2
    top = box["y"] + (box["height"] - nat_h * shown) / 2
    return lambda x, y: (left + (x + 0.5) * sent * shown, top + (y + 0.5) * sent * shown)


def click_image_at(page, selector: str, x: float, y: float, width: int) -> None:
    """Click pixel (x, y) of a frame `width` pixels wide, shown in `selector` (see image_point)."""
    page.mouse.click(*image_point(page, selector, width)(x, y))


def save_download(page, selector: str, target: Path) -> Path:
    with page.expect_download(timeout=60_000) as info:
        page.locator(selector).click()
    info.value.save_as(target)
    return target


def fetch(page, src: str) -> bytes:
    """The bytes behind an element's `src` as the page sees it (a data: URL, or a path or URL
    the app serves)."""
    if src.startswith("data:"):
        return base64.b64decode(src.split(",", 1)[1])
    return page.request.get(src if src.startswith("http") else page.url.rstrip("/") + "/" + src.lstrip("/")).body()


def shown_frame(page, selector: str = "#frame-image") -> np.ndarray:
    """The image in `selector` as the browser received it, decoded to H x W x 3 RGB."""
    src = page.locator(f"{selector} img").first.get_attribute("src")
    return np.asarray(Image.open(io.BytesIO(fetch(page, src))).convert("RGB"))


def fetch_video(page, target: Path) -> Path:
    video = page.locator("#result-video video").first
    video.wait_for(state="attached", timeout=60_000)
    target.write_bytes(fetch(page, video.get_attribute("src")))
    return target


def copy_screenshot(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
