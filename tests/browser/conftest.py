"""Fixtures shared by the browser tests: one Chromium per test module, and the app's page."""

from __future__ import annotations

import pytest

from .browser_support import launch_browser, require_browser


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (skipped without them, except in CI)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_browser(p)
        yield b
        b.close()
