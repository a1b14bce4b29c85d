"""Notebook 06's clicks on the picture, in JupyterLab in Chromium: the notebook's own widget cell
(ipyevents on an ipywidgets.Image) after a prelude that loads the judo clip. A left click is a
positive click at the frame pixel under the mouse (the mask it gives is the one the replayed click
at that pixel gives: IoU 0.154 with the mask file), shift-click and right click are negative (and
the right click opens no menu), undo removes the last click, + object sends clicks to object 2.

Headless runs (nbclient, the notebook test) cannot click; this is where the browser half is checked.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from .browser_support import jupyter_lab, launch_browser, require_browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "06_your_own_clip.ipynb"
PRELUDE = """\
import sys
import ipywidgets as widgets
import numpy as np
from IPython.display import display
from xmem_demo import lessons
from xmem_demo.resources import EXAMPLE_CLIP, EXAMPLE_MASK
from xmem_demo.video import open_video, read_index_mask
video, MASK_FRAME = open_video(EXAMPLE_CLIP), 0
file_mask = read_index_mask(EXAMPLE_MASK)
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a notebook made of the prelude and notebook 06's widget cell."""
    require_browser()
    pytest.importorskip("ipyevents")
    folder = tmp_path_factory.mktemp("lab")
    original = nbformat.read(NOTEBOOK, as_version=4)
    widget_cell = [c.source for c in original.cells if c.cell_type == "code" and "Event(source=picture" in c.source]
    assert len(widget_cell) == 1, "notebook 06 has one cell wiring the clickable picture"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PRELUDE), nbformat.v4.new_code_cell(widget_cell[0])])
    nb.metadata = original.metadata  # its kernelspec: JupyterLab starts the kernel without asking
    nbformat.write(nb, folder / "clicks.ipynb")
    env = dict(os.environ, XMEM_DEMO_OFFLINE="1", XMEM_DEMO_CLICK_MODEL="grabcut", OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    with jupyter_lab(folder, env) as url:
        yield url, folder


def test_clicks_on_the_picture_in_jupyterlab(lab):
    lab, lab_folder = lab
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_browser(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(f"{lab}/lab/tree/clicks.ipynb")
        page.locator(".jp-Notebook").wait_for()
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()  # the kernel is up (status bar)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.locator("li[data-command='runmenu:run-all']").click()
        picture = page.locator(".widget-image").first
        status = page.locator(".widget-html pre").first
        try:
            status.wait_for()
        except Exception:
            page.screenshot(path=str(Path(lab_folder) / "page.png"))
            raise AssertionError("no status line; the notebook shows: " + page.locator(".jp-Notebook").inner_text()[-3000:])
        assert "object 1 (clicks go here): 0 positive, 0 negative" in status.inner_text()
        page.wait_for_function("() => { const i = document.querySelector('.widget-image'); return i && i.naturalWidth > 0; }")

        def click(x: int, y: int, expect: str, **options) -> str:
            """Click frame pixel (x, y) of the 330 x 186 judo frame; wait until the status says `expect`."""
            picture.scroll_into_view_if_needed()  # a mouse click outside the viewport reaches nothing
            box = picture.bounding_box()  # measured now: outputs above may have moved the page
            page.mouse.click(box["x"] + (x + 0.5) * box["width"] / 330, box["y"] + (y + 0.5) * box["height"] / 186, **options)
            page.wait_for_function("([e, s]) => document.querySelector(s).innerText.includes(e)",
                                   arg=[expect, ".widget-html pre"])
            return status.inner_text()

        text = click(148, 70, "1 positive, 0 negative")
        assert "IoU with the mask file 0.154" in text  # the same mask as the notebook's replayed first click
        page.keyboard.down("Shift")
        click(144, 132, "1 positive, 1 negative")
        page.keyboard.up("Shift")
        click(183, 137, "1 positive, 2 negative", button="right")
        assert page.locator(".lm-Menu").count() == 0  # the browser's (and JupyterLab's) context menu stays shut
        page.get_by_role("button", name="undo").click()
        page.wait_for_function("s => document.querySelector(s).innerText.includes('1 positive, 1 negative')",
                               arg=".widget-html pre")
        page.get_by_role("button", name="+ object").click()
        page.wait_for_function("s => document.querySelector(s).innerText.includes('object 2 (clicks go here)')",
                               arg=".widget-html pre")
        text = click(255, 55, "object 2 (clicks go here): 1 positive")
        assert "object 1: 1 positive, 1 negative" in text and "382 pixels" in text  # the spectator, as scripted
        browser.close()
