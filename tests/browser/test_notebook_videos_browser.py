"""The masks' videos of the committed notebooks play in JupyterLab as a lecturer opens them: not yet
run, so not trusted, so their HTML is sanitised (JupyterLab strips a <source> child's src; the
video's own src is kept). Two notebooks from different hands: 00 and 03."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .browser_support import jupyter_lab, launch_browser, require_browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CHECKED = ("00_quick_start.ipynb", "03_working_memory.ipynb")


def test_committed_videos_play_in_jupyterlab_untrusted(tmp_path):
    require_browser()
    for name in CHECKED:
        shutil.copy(NOTEBOOKS / name, tmp_path / name)
    from playwright.sync_api import sync_playwright

    with jupyter_lab(tmp_path) as url, sync_playwright() as p:
        browser = launch_browser(p)
        for name in CHECKED:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(f"{url}/lab/tree/{name}")
            page.locator(".jp-Notebook").wait_for()
            page.wait_for_function("() => document.querySelectorAll('.jp-OutputArea video').length > 0")
            # Every video has its data, and the browser decodes it (HAVE_CURRENT_DATA or more).
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('.jp-OutputArea video')).every(v => v.readyState >= 2)",
                timeout=60_000,
            )
            videos = page.evaluate(
                "() => Array.from(document.querySelectorAll('.jp-OutputArea video')).map(v => "
                "({src: (v.getAttribute('src') || '').slice(0, 22), frames: v.duration, poster: !!v.getAttribute('poster')}))"
            )
            assert videos and all(v["src"] == "data:video/mp4;base64," and v["frames"] > 0 and v["poster"] for v in videos), (name, videos)
            page.close()
        browser.close()
