"""Fetching the click model's weights: the project's one downloader (`weights.download_file`).

The file goes to the weights cache (`$XMEM_DEMO_CACHE`, as the XMem weights) through a `.part`
file renamed only when complete, of the announced size, and loadable by `load_network` with
strict key matching. Meta publishes neither sizes nor checksums for the SAM 2.1 files, so the
load check is the integrity check (a `Sam2Spec` takes `size`/`sha256` if they ever appear).
`progress` is a tqdm bar on the console (True) or a callable(done_bytes, total_bytes) that the
app turns into the line under the frame.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable

from ..weights import WeightsError, cache_dir
from .sam2_model import DEFAULT_MODEL, ClickModelError, Sam2Spec, load_network, spec_for

# One download per file at a time in this process (two visitors opening the page together).
_DOWNLOAD_LOCK = threading.Lock()


def weights_url(spec: Sam2Spec) -> str:
    """Where the file comes from; `XMEM_DEMO_CLICK_WEIGHTS_URL` (a folder URL) overrides (mirrors, tests)."""
    base = os.environ.get("XMEM_DEMO_CLICK_WEIGHTS_URL")
    return base.rstrip("/") + "/" + spec.filename if base else spec.url


def cached_checkpoint(name: str = DEFAULT_MODEL) -> Path:
    return cache_dir() / spec_for(name).filename


def manual_hint(spec: Sam2Spec) -> str:
    return (
        f"download {spec.url} on a machine with internet and place it at {cache_dir() / spec.filename}; "
        "until then clicks use GrabCut"
    )


def _check(spec: Sam2Spec) -> Callable[[Path], None]:
    def check(part: Path) -> None:
        try:
            load_network(spec, part)
        except ClickModelError as err:
            raise WeightsError(f"the downloaded {spec.filename} is not usable: {err}") from None

    return check


def download_click_model(name: str = DEFAULT_MODEL, progress: bool | Callable[[int, int | None], None] = True) -> Path:
    """The cached checkpoint of `name`, downloaded first if needed (raises WeightsError)."""
    from ..weights import download_file

    spec = spec_for(name)
    target = cache_dir() / spec.filename
    if target.exists():
        return target
    with _DOWNLOAD_LOCK:
        if target.exists():  # another visitor's download finished while we waited
            return target
        return download_file(
            weights_url(spec),
            target,
            sha256=spec.sha256,
            size=spec.size,
            progress=progress,
            check=_check(spec),
            hint=manual_hint(spec),
        )
