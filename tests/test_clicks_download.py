"""Fetching the SAM 2.1 click-model weights with the project's downloader, against a local HTTP
server on 127.0.0.1 (success, 404, truncated, wrong hash, not a checkpoint, no network)."""

from __future__ import annotations

import dataclasses
from contextlib import ExitStack

import pytest

from xmem_demo.clicks import SAM2_MODELS, resolve_click_model
from xmem_demo.clicks.download import download_click_model, download_progress
from xmem_demo.weights import WeightsError

from .app_fixtures import free_port
from .support import file_host, http_server, server_url

NAME = "sam2.1_hiera_tiny.pt"


@pytest.fixture()
def serve(tmp_path, monkeypatch):
    """serve(body, mode) -> the cache folder; the app downloads the click model's file from a
    local server: mode "ok" serves `body`, "404" has no file, "truncated" cuts it off after a third."""
    with ExitStack() as servers:

        def start(body: bytes, mode: str = "ok"):
            host = file_host({} if mode == "404" else {NAME: body}, truncate={NAME} if mode == "truncated" else ())
            httpd = servers.enter_context(http_server(host))
            monkeypatch.setenv("XMEM_DEMO_CLICK_WEIGHTS_URL", f"{server_url(httpd)}/sam2/")
            return tmp_path / "cache"

        monkeypatch.setenv("XMEM_DEMO_CACHE", str(tmp_path / "cache"))
        monkeypatch.delenv("XMEM_DEMO_OFFLINE", raising=False)
        monkeypatch.delenv("XMEM_DEMO_CLICK_CHECKPOINT", raising=False)
        monkeypatch.delenv("XMEM_DEMO_CLICK_MODEL", raising=False)
        yield start


def leftovers(cache):
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def test_download_with_progress_then_sam_is_chosen(serve, sam2_checkpoint):
    cache = serve(sam2_checkpoint.read_bytes())
    assert resolve_click_model().name == "grabcut"
    reports = list(download_progress(every_s=0))  # what the app's click-model line shows
    size = sam2_checkpoint.stat().st_size
    path = cache / NAME
    assert path.stat().st_size == size
    *progress, last = reports
    assert last.finished and last.error is None and last.done == size
    assert progress and all(r.total == size and not r.finished for r in progress)
    assert all(a.done <= b.done for a, b in zip(progress, progress[1:]))
    assert "Downloading the SAM 2.1 tiny" in progress[0].line() and "MB (" in progress[0].line()
    assert leftovers(cache) == [NAME]  # no .part left behind
    choice = resolve_click_model()
    assert choice.name == "sam2.1-tiny" and choice.checkpoint == path
    assert download_click_model(progress=False) == path  # cached: no second transfer


def test_404(serve):
    cache = serve(b"", mode="404")
    with pytest.raises(WeightsError, match=r"HTTP 404.*place it at .*sam2.1_hiera_tiny.pt"):
        download_click_model(progress=False)
    assert leftovers(cache) == []
    (last,) = list(download_progress())  # the app's view of the same failure: one report, the error
    assert last.error and "HTTP 404" in last.error and "download failed" in last.line()


def test_truncated_transfer_is_not_kept(serve):
    cache = serve(b"x" * 300_000, mode="truncated")
    with pytest.raises(WeightsError, match="incomplete"):
        download_click_model(progress=False)
    assert leftovers(cache) == []


def test_wrong_hash_is_not_kept(serve, monkeypatch):
    spec = SAM2_MODELS["sam2.1-tiny"]
    monkeypatch.setitem(SAM2_MODELS, "sam2.1-tiny", dataclasses.replace(spec, sha256="0" * 64))
    cache = serve(b"some bytes that are not the published file")
    with pytest.raises(WeightsError, match="sha256"):
        download_click_model(progress=False)
    assert leftovers(cache) == []


def test_a_file_that_does_not_load_is_not_kept(serve):
    cache = serve(b"an html error page, say")
    with pytest.raises(WeightsError, match="not usable.*not a readable checkpoint"):
        download_click_model(progress=False)
    assert leftovers(cache) == []
    assert resolve_click_model().name == "grabcut"


def test_no_network(serve, monkeypatch, tmp_path):
    serve(b"")
    monkeypatch.setenv("XMEM_DEMO_CLICK_WEIGHTS_URL", f"http://127.0.0.1:{free_port()}/nothing-listens-here/")
    with pytest.raises(WeightsError, match="no network access"):
        download_click_model(progress=False)
    monkeypatch.setenv("XMEM_DEMO_OFFLINE", "1")
    with pytest.raises(WeightsError, match="OFFLINE"):
        download_click_model(progress=False)
    assert leftovers(tmp_path / "cache") == []


def test_weights_preloaded_on_a_space_are_used_without_a_download(serve, tmp_path, monkeypatch):
    """A Space's `preload_from_hub` (README front matter) puts the file in the Hub cache at build
    time: it is found there, and nothing is downloaded (the server here has no file at all)."""
    import huggingface_hub.constants

    from xmem_demo.clicks.download import cached_checkpoint

    cache = serve(b"", mode="404")
    hub = tmp_path / "hub"
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub))
    spec = SAM2_MODELS["sam2.1-tiny"]
    assert spec.hub_repo == "facebook/sam2.1-hiera-tiny"
    assert cached_checkpoint() == cache / NAME and not (cache / NAME).exists()  # nothing anywhere yet
    repo = hub / ("models--" + spec.hub_repo.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123456789abcdef0123456789abcdef01234567")
    snapshot = repo / "snapshots" / "0123456789abcdef0123456789abcdef01234567"
    snapshot.mkdir(parents=True)
    (snapshot / NAME).write_bytes(b"preloaded")
    assert cached_checkpoint() == snapshot / NAME
    assert download_click_model(progress=False) == snapshot / NAME
    assert leftovers(cache) == []


def test_the_space_front_matter_preloads_the_default_click_model():
    from pathlib import Path

    import yaml

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    front = yaml.safe_load(readme.split("---\n")[1])
    spec = SAM2_MODELS["sam2.1-tiny"]
    assert f"{spec.hub_repo} {spec.filename}" in front["preload_from_hub"]
    assert spec.hub_repo in front["models"]
    assert front["app_file"] == "app.py" and front["license"] == "mit"
