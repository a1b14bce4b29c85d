"""Each visitor's temporary folder, for both tabs: inside Gradio's cache folder (so results are
served from it without a second copy), one folder per visitor per server process. It goes when
the tab closes; the janitor (app/janitor.py) removes what nobody else does."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def cache_root() -> Path:
    """Gradio's cache folder (GRADIO_TEMP_DIR): files inside it are served without a copy."""
    try:
        from gradio.utils import get_upload_folder

        return Path(get_upload_folder())
    except ImportError:
        return Path(tempfile.gettempdir()) / "gradio"


def sessions_root() -> Path:
    """All session folders of all app processes on this machine."""
    return cache_root() / "xmem-demo-sessions"


def session_root() -> Path:
    """This server process's session folders (one process never sweeps another's)."""
    return sessions_root() / f"proc-{os.getpid()}"


def session_dir_for(session_hash: str) -> Path:
    safe = "".join(c for c in session_hash if c.isalnum() or c in "-_") or "anonymous"
    return session_root() / f"session-{safe}"


def run_in_progress(path: str | Path) -> bool:
    """A run writes its masks into run-NNN/masks/, which goes once masks.zip is written."""
    return any(p.is_dir() for p in Path(path).glob("run-*/masks"))


def remove_session_dir(path: str | Path | None) -> None:
    """Remove a visitor's folder, unless a run is still writing into it (a client that drops
    its connection mid-run triggers 'unload'); the janitor removes such a folder once idle."""
    if path is not None and not run_in_progress(path):
        shutil.rmtree(path, ignore_errors=True)
