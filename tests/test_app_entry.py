"""`python app.py` starts the server (as on a Hugging Face Space) and serves the page."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

from .app_fixtures import REPO, free_port, launch_subprocess, wait_for_http


def test_app_py_is_short():
    assert len((REPO / "app.py").read_text().splitlines()) <= 60


def serves_the_ui(server: subprocess.Popen, port: int) -> None:
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


def test_python_app_py_serves_the_ui(app_env):
    port = free_port()
    serves_the_ui(launch_subprocess(app_env, port), port)


def test_xmem_demo_app_serves_the_ui_from_any_folder(app_env, tmp_path):
    """`xmem-demo app`: the same app after a regular install, where there is no app.py."""
    import os

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "xmem_demo.cli", "app", "--port", str(port)], cwd=tmp_path,
                              env={**os.environ, **app_env, "PYTHONPATH": str(REPO)},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    serves_the_ui(server, port)
