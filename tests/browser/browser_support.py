"""Driving the app in Debian's Chromium with Playwright (shared by the test and the screenshot script)."""

from __future__ import annotations

import base64
import contextlib
import io
import os
import re
import shutil
import time
from pathlib import Path

import cv2
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


# ---- the Live tab with a fake camera (tests/browser/test_live_browser.py, benchmarks/live_browser.py)
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


@contextlib.contextmanager
def jupyter_lab(folder: Path, env: dict[str, str] | None = None, start_seconds: float = 90.0):
    """JupyterLab serving `folder` on a free local port, no token; yields its URL, stops it after."""
    import socket
    import subprocess
    import sys
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(folder / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.token=",
         "--ServerApp.password=", f"--ServerApp.root_dir={folder}", "--allow-root"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + start_seconds
    try:
        while True:
            try:
                urllib.request.urlopen(f"{url}/api", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start: {(folder / 'lab.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()

