#!/usr/bin/env python3
"""The Live tab end to end in Chromium with a fake camera: what a visitor sees.

    python benchmarks/live_browser.py --seconds 30           # mini model, app in a subprocess

Starts `python app.py` (offline: the bundled mini model), opens the Live tab in Debian's
Chromium whose camera plays the judo clip (.y4m, 30 fps), freezes a frame, clicks a fighter,
presses Track and then, for `--seconds`, records in Python's clock when the page sends a
camera frame (POST .../stream/<event>) and when a new overlay appears in the page
(a MutationObserver on #live-output calls back). Prints:

- frames the page sent per second (it sends one every `stream_every` = 0.1 s, answered or not:
  while the server segments one, the newer ones replace each other in Gradio's one-chunk stream);
- overlays shown per second (the FPS the visitor sees) and the interval between them;
- the server's own figures at the end (from the status line): frames received, the estimate
  of frames dropped, FPS and the latency from a frame's arrival to its result.
End to end, a frame waits up to `stream_every` in the page plus, at most, the step in progress
before the server takes it; upload and page update are a few ms on one machine.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.app_fixtures import free_port, launch_subprocess, wait_for_http  # noqa: E402
from tests.browser.browser_support import CHROMIUM, CHROMIUM_ARGS, start_live, write_y4m  # noqa: E402

OBSERVER = """() => {
  const target = document.querySelector('#live-output');
  const seen = new Set();  // a re-render of the same overlay is not a new frame
  new MutationObserver(() => {
    const img = target.querySelector('img');
    if (!img) return;
    const key = img.src.length + ':' + img.src.slice(-96);
    if (!seen.has(key)) { seen.add(key); window.liveShown(); }
  }).observe(target, {subtree: true, childList: true, attributes: true});
}"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--weights", default="mini")
    p.add_argument("--size", default="auto", help="processing size in the Live tab (auto or a number)")
    args = p.parse_args()

    from playwright.sync_api import sync_playwright

    from xmem_demo.resources import EXAMPLE_CLIP
    from xmem_demo.video import open_video

    tmp = Path(tempfile.mkdtemp(prefix="live-browser-"))
    with open_video(EXAMPLE_CLIP) as video:
        camera = write_y4m(tmp / "judo.y4m", list(video.iter_frames(0, len(video))), fps=30)
    port = free_port()
    env = {"XMEM_DEMO_OFFLINE": "1", "XMEM_DEMO_WEIGHTS": args.weights, "GRADIO_ANALYTICS_ENABLED": "False",
           "GRADIO_TEMP_DIR": str(tmp / "gradio")}
    server = launch_subprocess(env, port)
    url = f"http://127.0.0.1:{port}/"
    sends: list[float] = []
    shown: list[float] = []
    try:
        wait_for_http(url, timeout=180)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + [
                "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-video-capture={camera}"])
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.set_default_timeout(120_000)
            page.on("request", lambda r: sends.append(time.monotonic()) if re.search(r"/stream/[^/]+$", r.url) and r.method == "POST" else None)
            page.expose_function("liveShown", lambda: shown.append(time.monotonic()))
            start_live(page, url, size=None if args.size == "auto" else args.size, segmented=3, timeout=180)
            page.evaluate(OBSERVER)
            sends.clear()
            shown.clear()
            start = time.monotonic()
            time.sleep(args.seconds)
            end = time.monotonic()
            status = page.locator("#live-status").inner_text()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    gaps = 1000 * np.diff(np.array(shown)) if len(shown) > 1 else np.array([np.nan])
    print(f"load average {os.getloadavg()[0]:.1f}; {args.seconds:g} s measured; weights {args.weights}, size {args.size}")
    print(f"frames sent by the page: {len(sends)} ({len(sends) / (end - start):.2f}/s); overlays shown: {len(shown)} "
          f"({len(shown) / (end - start):.2f} FPS); interval between overlays: median {np.median(gaps):.0f} ms, "
          f"p95 {np.percentile(gaps, 95):.0f} ms")
    print("server status at the end:\n  " + "\n  ".join(line for line in status.splitlines() if line.strip()))


if __name__ == "__main__":
    main()
