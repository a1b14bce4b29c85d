"""Screenshots of the app for the docs (not a test): docs/screenshots/app-loaded.png, app-tracked.png.

    python -m tests.browser.take_screenshots            # the bundled judo example, default weights
    XMEM_DEMO_WEIGHTS=mini python -m tests.browser.take_screenshots

Launches `python app.py` on a free port of 127.0.0.1 and drives Debian's Chromium.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from ..app_fixtures import REPO, free_port, launch_subprocess, wait_for_http
from .browser_support import click_image_at, launch_browser

# Clicks on the two judo fighters in frame 0 of xmem_demo/assets/examples/judo.mp4 (330 x 186).
JUDO_CLICKS = [(180, 60), (145, 70), (140, 120), (180, 120)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"))
    parser.add_argument("--example", default="judo.mp4")
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    port = free_port()
    server = launch_subprocess({"XMEM_DEMO_OFFLINE": os.environ.get("XMEM_DEMO_OFFLINE", "1")}, port)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(url, timeout=120)
        with sync_playwright() as p:
            browser = launch_browser(p)
            page = browser.new_page(viewport={"width": args.width, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(url)
            page.locator("#clip-info").get_by_text("frames").wait_for()  # the page loads the first example itself
            if args.example not in page.locator("#clip-info").inner_text():
                choice = page.locator("#example-clip input").first
                choice.click()
                choice.fill(args.example)
                choice.press("Enter")
                page.locator("#load-example").click()
                page.locator("#clip-info").get_by_text(args.example).wait_for()
            for x, y in JUDO_CLICKS:
                click_image_at(page, "#frame-image", x, y, 330)
                page.get_by_text("Annotated frames: 0 (1 obj)").wait_for()
                time.sleep(0.8)
            page.locator("#object-name").locator("textarea, input").first.fill("fighters")
            page.locator("#object-name").locator("textarea, input").first.press("Enter")
            time.sleep(1.0)
            page.screenshot(path=str(out / "app-loaded.png"), full_page=True)
            page.locator("#track").click()
            page.locator("#result-info").get_by_text("frames (").wait_for(timeout=600_000)
            page.locator("#result-video video").wait_for(state="attached")
            time.sleep(1.5)
            page.screenshot(path=str(out / "app-tracked.png"), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"wrote {out / 'app-loaded.png'} and {out / 'app-tracked.png'}")


if __name__ == "__main__":
    main()
