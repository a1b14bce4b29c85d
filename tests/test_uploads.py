"""Bounded uploads (issue 20): a per-file cap (Gradio's max_file_size), a total cap over Gradio's
cache, refused uploads deleted at once, and the limits shown on the page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xmem_demo.app import limits
from xmem_demo.app.clip_tab import uploads
from xmem_demo.app.clip_tab.actions import apply_mask_upload, load_clip
from xmem_demo.app.clip_tab.state import AppState
from xmem_demo.errors import UserError

from .support import square_frames, write_clip


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    root = tmp_path / "gradio"
    (root / "xmem-demo-sessions").mkdir(parents=True)
    monkeypatch.setattr(uploads, "cache_root", lambda: root)
    monkeypatch.setattr(uploads, "sessions_root", lambda: root / "xmem-demo-sessions")
    return root


def _upload(cache: Path, name: str, data: bytes) -> Path:
    folder = cache / f"hash{len(list(cache.iterdir()))}"
    folder.mkdir()
    (folder / name).write_bytes(data)
    return folder / name


def test_a_refused_clip_upload_is_deleted_at_once(cache):
    bad = _upload(cache, "clip.mp4", b"not a video" * 100)
    with pytest.raises(UserError, match="cannot be read as a video"):
        uploads.handle(bad, lambda: load_clip(AppState(), bad))
    assert not bad.exists() and not bad.parent.exists()


def test_an_accepted_upload_stays(cache):
    good = cache / "h" / "clip.mp4"
    good.parent.mkdir()
    write_clip(good, square_frames(2))
    state = AppState()
    uploads.handle(good, lambda: load_clip(state, good))
    assert good.exists() and state.clip is not None


def test_a_refused_mask_upload_is_deleted_and_a_bundled_file_never_is(cache, tmp_path):
    clip = cache / "h" / "clip.mp4"
    clip.parent.mkdir()
    write_clip(clip, square_frames(2))
    state = AppState()
    load_clip(state, clip)
    mask = _upload(cache, "mask.png", b"text, not a png")
    with pytest.raises(UserError):
        uploads.handle(mask, lambda: apply_mask_upload(state, mask))
    assert not mask.exists()
    outside = tmp_path / "mine.png"  # not in Gradio's cache: never deleted
    outside.write_bytes(b"x")
    with pytest.raises(UserError):
        uploads.handle(outside, lambda: apply_mask_upload(state, outside))
    assert outside.exists()
    session_file = cache / "xmem-demo-sessions" / "proc-1" / "f.png"
    session_file.parent.mkdir(parents=True)
    session_file.write_bytes(b"x")
    assert not uploads.discard(session_file) and session_file.exists()


def test_the_total_cap_refuses_and_deletes_a_new_upload(cache, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_UPLOAD_TOTAL_BYTES", 10_000)
    (cache / "xmem-demo-sessions" / "big").write_bytes(b"x" * 50_000)  # session results: not counted
    first = _upload(cache, "a.mp4", b"x" * 6_000)
    uploads.admit(first)  # 6 kB of 10: fine
    second = _upload(cache, "b.mp4", b"x" * 6_000)
    with pytest.raises(UserError, match="upload space is full"):
        uploads.admit(second)
    assert first.exists() and not second.exists()


def test_the_per_file_cap_is_gradios_max_file_size_and_checked_again(cache, monkeypatch):
    from xmem_demo.app import launch_options

    assert launch_options()["max_file_size"] == limits.MAX_UPLOAD == f"{limits.MAX_UPLOAD_BYTES // 2**20}mb"
    assert limits.MAX_UPLOAD_BYTES <= 2**30 and limits.MAX_UPLOAD_TOTAL_BYTES <= 8 * 2**30
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 1000)
    big = _upload(cache, "big.mp4", b"x" * 2000)
    with pytest.raises(UserError, match="uploads are limited to"):
        uploads.admit(big)
    assert not big.exists()


def test_the_limits_are_on_the_page():
    text = limits.limits_markdown()
    assert f"{limits.MAX_UPLOAD_BYTES / 2**30:g} GB each" in text
    assert f"{limits.MAX_UPLOAD_TOTAL_BYTES / 2**30:g} GB for all visitors together" in text
    assert "refused uploads are deleted at once" in text
