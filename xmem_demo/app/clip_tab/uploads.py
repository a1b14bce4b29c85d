"""Bounded uploads: what a visitor may put on the server's disk, and what is removed at once.

Gradio stores an upload in its cache (GRADIO_TEMP_DIR) before any handler runs, and keeps it
for CACHE_MAX_AGE_S (2 h). Three bounds keep that from filling the disk:

* per file: `MAX_UPLOAD` (Gradio's `max_file_size`: a larger upload is refused while it
  streams, before it is stored);
* in total: `MAX_UPLOAD_TOTAL_BYTES` over Gradio's whole cache outside our session folders;
  an upload that arrives when the cache is over it is deleted and refused;
* refused uploads (not a video, damaged, too large, a bad mask) are deleted at once, not left
  for two hours.

Only files inside Gradio's cache, outside the session folders, are ever deleted here: a
bundled example or a path the visitor did not upload is never touched.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ...errors import UserError
from ..limits import MAX_UPLOAD_BYTES, MAX_UPLOAD_TOTAL_BYTES
from ..folders import cache_root, sessions_root

T = TypeVar("T")


def _is_upload(path: Path) -> bool:
    """Inside Gradio's cache and not one of our session folders (so: a visitor's upload)."""
    try:
        real = Path(os.path.realpath(path))
        root = Path(os.path.realpath(cache_root()))
        sessions = Path(os.path.realpath(sessions_root()))
    except OSError:
        return False
    return real.is_relative_to(root) and not real.is_relative_to(sessions) and real != root


def upload_cache_bytes() -> int:
    """Bytes held in Gradio's cache outside the session folders (uploads, frames shown)."""
    root, sessions = cache_root(), sessions_root()
    total = 0
    if not root.is_dir():
        return 0
    for folder, dirs, files in os.walk(root):
        if Path(folder) == root and sessions.name in dirs:
            dirs.remove(sessions.name)
        for name in files:
            try:
                total += os.stat(os.path.join(folder, name)).st_size
            except FileNotFoundError:
                continue
    return total


def discard(path: str | Path | None) -> bool:
    """Delete an upload (and its folder, when Gradio made one for it and it is now empty)."""
    if not path:
        return False
    path = Path(path)
    if not _is_upload(path) or not path.is_file():
        return False
    path.unlink(missing_ok=True)
    try:
        if path.parent != cache_root():
            path.parent.rmdir()  # Gradio puts each upload in a folder of its own
    except OSError:
        pass  # not empty, or already gone
    return True


def admit(path: str | Path) -> None:
    """Refuse (and delete) an upload beyond the per-file cap or while the cache is over its total."""
    path = Path(path)
    if not _is_upload(path):
        return
    size = path.stat().st_size if path.is_file() else 0
    if size > MAX_UPLOAD_BYTES:
        discard(path)
        raise UserError(f"'{path.name}' is {size / 2**20:,.0f} MB; uploads are limited to {MAX_UPLOAD_BYTES / 2**20:,.0f} MB")
    total = upload_cache_bytes()
    if total > MAX_UPLOAD_TOTAL_BYTES:
        discard(path)
        raise UserError(
            f"the server's upload space is full ({total / 2**30:.1f} of {MAX_UPLOAD_TOTAL_BYTES / 2**30:.1f} GB, "
            "shared by all visitors; uploads are kept 2 hours); your file was not kept: try again later"
        )


def handle(path: str | Path | None, use: Callable[[], T]) -> T:
    """Admit the upload, then `use()` it; if either refuses it (a UserError), it is deleted at once."""
    try:
        if path:
            admit(path)
        return use()
    except UserError:
        discard(path)
        raise
