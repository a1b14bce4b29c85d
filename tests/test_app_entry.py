"""`python app.py` starts the server (as on a Hugging Face Space) and serves the page."""

from __future__ import annotations

import json
import urllib.request

from .app_fixtures import app_env, app_examples, app_server, app_url, app_weights, bad_files  # noqa: F401  (pytest fixtures)
from .app_fixtures import REPO, free_port, launch_subprocess, wait_for_http


def test_app_py_is_short():
    assert len((REPO / "app.py").read_text().splitlines()) <= 60


def test_python_app_py_serves_the_ui(app_env):
    port = free_port()
    server = launch_subprocess(app_env, port)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", timeout=120)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=10) as response:
            config = json.load(response)
        assert config["title"].startswith("XMem")
        ids = {c.get("props", {}).get("elem_id") for c in config["components"]}
        assert {"load-example", "frame-image", "track", "stop", "result-video", "dl-masks", "weights-banner"} <= ids
    finally:
        server.terminate()
        server.wait(timeout=30)
