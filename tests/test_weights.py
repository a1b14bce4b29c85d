"""Weights resolution and the official download path, against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import socket

import pytest

from xmem_demo import weights
from xmem_demo.weights import WeightsError

from .support import file_host, save_tiny_checkpoint, tiny_counts_as_official, weights_host


@pytest.fixture()
def server(golden_weights, tmp_path, monkeypatch):
    """The weights host: XMem.pth is the golden checkpoint, XMem-s012.pth the same file cut off
    after a third, XMem-s2.pth not a checkpoint; anything else is a 404. Yields the cache folder."""
    official = golden_weights.read_bytes()
    files = {"XMem.pth": official, "XMem-s012.pth": official, "XMem-s2.pth": b"not a checkpoint"}
    with weights_host(file_host(files, truncate={"XMem-s012.pth"}), monkeypatch, tmp_path / "cache", "/release/"):
        yield tmp_path / "cache"


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
    monkeypatch.delenv("XMEM_DEMO_OFFLINE", raising=False)  # .ci/run sets it; this test is about a dead network
    with pytest.raises(WeightsError, match="no network access.*place it at"):
        weights.download_official("xmem", progress=False, timeout=2)


def test_auto_falls_back_to_lite_with_notice(tmp_path, monkeypatch):
    """Offline, auto runs the offline default, the bundled lite model, and says what it is."""
    monkeypatch.setenv("XMEM_DEMO_CACHE", str(tmp_path))
    monkeypatch.setenv("XMEM_DEMO_OFFLINE", "1")
    for path in (weights.LITE_PATH, weights.MINI_PATH):
        if not path.exists():
            pytest.fail(f"bundled model missing at {path}")
    choice = weights.resolve("auto")
    assert choice.name == "lite" and not choice.official and choice.path == weights.LITE_PATH
    assert "NOT the official XMem weights" in choice.notice and "EfficientNet-Lite0" in choice.notice


def test_unknown_names_and_missing_paths(tmp_path):
    with pytest.raises(WeightsError, match="unknown weights 'xmem-large'"):
        weights.resolve("xmem-large")
    with pytest.raises(WeightsError, match="not found"):
        weights.resolve(str(tmp_path / "missing.pth"))


@pytest.fixture()
def small_server(tmp_path, monkeypatch):
    """Like `server`, but XMem.pth is a tiny random checkpoint (fast to fetch, hash and load)."""
    save_tiny_checkpoint(tmp_path / "tiny.pth")
    tiny_counts_as_official(monkeypatch)
    host = file_host({"XMem.pth": (tmp_path / "tiny.pth").read_bytes()})
    with weights_host(host, monkeypatch, tmp_path / "cache", "/release/"):
        yield tmp_path / "cache"


# ---- trust: digests recorded at first download, checked later; bad files moved aside ----------
def test_first_download_records_size_and_sha256_and_later_loads_check_them(small_server):
    import hashlib
    import json

    path = weights.download_official("xmem", progress=False)
    record = json.loads(weights.record_path(path).read_text())
    assert record["size"] == path.stat().st_size
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert weights.KNOWN_DIGESTS == {}  # none published: the record is the reference, and says so
    assert "no digest is published" in record["note"]
    # The same size, other bytes (bit rot, a tampered file): refused and moved aside, never reused.
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="does not match its sha256.*moved aside"):
        weights.verify_cached("xmem")
    assert not path.exists() and len(list(small_server.glob("XMem.pth.rejected-*"))) == 1


def test_truncated_cached_file_is_replaced_by_download(small_server, capsys):
    path = weights.download_official("xmem", progress=False)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    again = weights.download_official("xmem", progress=False)
    assert again.read_bytes() == good
    assert "moved aside" in capsys.readouterr().err
    assert list(small_server.glob("XMem.pth.rejected-*"))


def test_auto_offline_with_a_broken_cache_runs_mini_with_a_notice(small_server, monkeypatch):
    path = weights.download_official("xmem", progress=False)
    path.write_bytes(path.read_bytes()[:1000])
    monkeypatch.setenv("XMEM_DEMO_OFFLINE", "1")
    model, info = weights.resolve_model("auto")
    assert info.name == "lite" and "NOT the official XMem weights" in info.notice
    assert "is 1000 bytes" in info.notice and not path.exists()


def test_auto_with_an_unrecorded_file_that_does_not_load_falls_back(tmp_path, monkeypatch):
    monkeypatch.setenv("XMEM_DEMO_CACHE", str(tmp_path))
    monkeypatch.setenv("XMEM_DEMO_OFFLINE", "1")
    (tmp_path / "XMem.pth").write_bytes(b"\x80\x02garbage")  # placed by hand, no record
    model, info = weights.resolve_model("auto")
    assert info.name == "lite" and "cannot be used" in info.notice and info.path == weights.LITE_PATH
    assert list(tmp_path.glob("XMem.pth.rejected-*"))


def test_auto_with_a_read_only_cache_falls_back_to_lite(monkeypatch):
    monkeypatch.setenv("XMEM_DEMO_CACHE", "/proc/xmem-demo-cache")
    monkeypatch.setenv("XMEM_DEMO_WEIGHTS_URL", "http://127.0.0.1:9/")
    monkeypatch.delenv("XMEM_DEMO_OFFLINE", raising=False)
    choice = weights.resolve("auto")
    assert choice.name == "lite" and "cannot write to the weights cache" in choice.notice


PATCHED_ATTRIBUTES = ("weights_name", "is_official", "checkpoint_format", "model_card", "checkpoint_path")


def test_resolve_model_returns_the_network_and_its_weights_info(tmp_path, monkeypatch):
    """mini, an official-format file in the cache (by name) and the same file by path."""
    import torch

    from xmem_demo import ModelConfig, XMem

    monkeypatch.setenv("XMEM_DEMO_CACHE", str(tmp_path))
    monkeypatch.setenv("XMEM_DEMO_OFFLINE", "1")
    official_file = tmp_path / "XMem.pth"
    torch.save(XMem(ModelConfig()).state_dict(), official_file)  # random weights, the release format

    model, info = weights.resolve_model("mini")
    assert (info.name, info.official, info.path, info.checkpoint_format) == ("mini", False, weights.MINI_PATH, "xmem-demo")
    assert "NOT the official XMem" in info.model_card and info.notice.startswith(weights.MINI_NOTICE)
    assert info.label == "mini (not the official XMem)"
    loaded = [model]

    model, info = weights.resolve_model("xmem")
    assert (info.name, info.official, info.path, info.checkpoint_format) == ("xmem", True, official_file, "official")
    assert info.model_card == "" and "official XMem weights 'xmem'" in info.notice
    assert info.label == "official XMem (xmem)"
    loaded.append(model)

    model, info = weights.resolve_model(str(official_file))
    assert (info.name, info.official, info.path, info.checkpoint_format) == (str(official_file), False, official_file, "official")
    assert info.notice == f"Running weights from {official_file}." and info.label == "XMem.pth (not the official XMem)"
    loaded.append(model)

    with pytest.raises(dataclasses.FrozenInstanceError):
        info.official = True  # type: ignore[misc]
    for model in loaded:
        assert type(model) is XMem and [a for a in PATCHED_ATTRIBUTES if hasattr(model, a)] == []
