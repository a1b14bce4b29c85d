"""Weights resolution and the official download path, against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import http.server
import shutil
import socket
import threading
from pathlib import Path

import pytest

from xmem_demo import weights
from xmem_demo.weights import WeightsError


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    truncate: set[str] = set()

    def do_GET(self):  # noqa: N802
        name = self.path.rsplit("/", 1)[-1]
        if name not in self.files:
            self.send_error(404, "Not Found")
            return
        body = self.files[name]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # A truncated transfer: announce the full size, send a third, hang up.
        self.wfile.write(body[: len(body) // 3] if name in self.truncate else body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server(golden_weights, tmp_path, monkeypatch):
    handler = type("H", (_Handler,), {"files": {"XMem.pth": golden_weights.read_bytes(), "XMem-s2.pth": b"not a checkpoint"}, "truncate": {"XMem-s012.pth"}})
    handler.files["XMem-s012.pth"] = handler.files["XMem.pth"]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("XMEM_DEMO_WEIGHTS_URL", f"http://127.0.0.1:{httpd.server_address[1]}/release/")
    monkeypatch.setenv("XMEM_DEMO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("XMEM_DEMO_OFFLINE", raising=False)
    yield tmp_path / "cache"
    httpd.shutdown()


def test_download_success_and_cache_hit(server):
    path = weights.download_official("xmem", progress=False)
    assert path == server / "XMem.pth" and path.stat().st_size > 200_000_000
    assert not list(server.glob("*.part"))
    choice = weights.resolve("auto")
    assert choice.official and choice.name == "xmem" and "official" in choice.notice


def test_404_is_reported_and_nothing_cached(server):
    with pytest.raises(WeightsError, match="HTTP 404.*place it at"):
        weights.download_official("xmem-no-sensory", progress=False)
    assert not (server / "XMem-no-sensory.pth").exists()


def test_truncated_download_is_never_used(server):
    with pytest.raises(WeightsError, match="XMem-s012.pth"):
        weights.download_official("xmem-s012", progress=False)
    assert not list(server.iterdir()) or not (server / "XMem-s012.pth").exists()
    assert not list(server.glob("*.part"))


def test_corrupt_download_is_rejected(server):
    with pytest.raises(WeightsError, match="not a usable checkpoint"):
        weights.download_official("xmem-s2", progress=False)
    assert not (server / "XMem-s2.pth").exists()


def test_no_network_fails_fast_with_instructions(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("XMEM_DEMO_WEIGHTS_URL", f"http://127.0.0.1:{port}/")
    monkeypatch.setenv("XMEM_DEMO_CACHE", str(tmp_path))
    with pytest.raises(WeightsError, match="no network access.*place it at"):
        weights.download_official("xmem", progress=False, timeout=2)


def test_auto_falls_back_to_mini_with_notice(tmp_path, monkeypatch):
    monkeypatch.setenv("XMEM_DEMO_CACHE", str(tmp_path))
    monkeypatch.setenv("XMEM_DEMO_OFFLINE", "1")
    if not weights.MINI_PATH.exists():
        pytest.fail(f"bundled mini model missing at {weights.MINI_PATH}")
    choice = weights.resolve("auto")
    assert choice.name == "mini" and not choice.official
    assert "NOT the official XMem weights" in choice.notice


def test_unknown_names_and_missing_paths(tmp_path):
    with pytest.raises(WeightsError, match="unknown weights 'xmem-large'"):
        weights.resolve("xmem-large")
    with pytest.raises(WeightsError, match="not found"):
        weights.resolve(str(tmp_path / "missing.pth"))
