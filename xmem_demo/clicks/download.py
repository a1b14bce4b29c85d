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
import queue
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from ..weights import WeightsError, cache_dir
from .sam2_model import DEFAULT_MODEL, ClickModelError, Sam2Spec, load_network, spec_for

# One download per file at a time in this process (two visitors opening the page together).
_DOWNLOAD_LOCK = threading.Lock()


def weights_url(spec: Sam2Spec) -> str:
    """Where the file comes from; `XMEM_DEMO_CLICK_WEIGHTS_URL` (a folder URL) overrides (mirrors, tests)."""
    base = os.environ.get("XMEM_DEMO_CLICK_WEIGHTS_URL")
    return base.rstrip("/") + "/" + spec.filename if base else spec.url


def preloaded_checkpoint(spec: Sam2Spec) -> Path | None:
    """The file in the Hugging Face Hub cache, if it is there (a Space's `preload_from_hub`
    puts it there at build time); asks no server."""
    if spec.hub_repo is None:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # huggingface_hub comes with gradio; without it there is no Hub cache to read
        return None
    found = try_to_load_from_cache(spec.hub_repo, spec.filename)
    return Path(found) if isinstance(found, str) else None


def sam_weights_url(name: str = DEFAULT_MODEL) -> str:
    """The URL the default SAM 2.1 checkpoint downloads from (the app checks its host first)."""
    return weights_url(spec_for(name))


def cached_checkpoint(name: str = DEFAULT_MODEL) -> Path:
    """Where the checkpoint is: our cache, else the Hub cache (preloaded), else where our cache
    would hold it once downloaded."""
    spec = spec_for(name)
    ours = cache_dir() / spec.filename
    if ours.exists():
        return ours
    return preloaded_checkpoint(spec) or ours


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
    found = cached_checkpoint(name)
    if found.exists():
        return found
    target = cache_dir() / spec.filename
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


@dataclass
class DownloadProgress:
    """One report of `download_progress`: bytes so far, and on the last report the outcome."""

    done: int = 0
    total: int | None = None
    finished: bool = False  # the file is in the cache
    error: str | None = None  # why it is not

    def line(self, name: str = DEFAULT_MODEL) -> str:
        if self.error:
            return f"the {spec_for(name).label} download failed: {self.error}"
        of = f" of {self.total / 2**20:.0f} MB ({100 * self.done / self.total:.0f}%)" if self.total else " MB"
        return f"Downloading the {spec_for(name).label} click model: {self.done / 2**20:.1f}{of}"


def download_progress(name: str = DEFAULT_MODEL, every_s: float = 0.5) -> Iterator[DownloadProgress]:
    """Download in a thread and yield its progress (at most every `every_s`), the outcome last.

    For a UI that shows progress while the transfer goes on; the console gets a tqdm bar too.
    """
    from tqdm import tqdm

    news: queue.Queue = queue.Queue()
    bar = tqdm(unit="B", unit_scale=True, desc=f"downloading {spec_for(name).filename}", file=sys.stderr)

    def report(done: int, total: int | None) -> None:
        if total and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)
        news.put(DownloadProgress(done, total))

    def work() -> None:
        try:
            download_click_model(name, progress=report)
            news.put(DownloadProgress(bar.n, bar.total, finished=True))
        except Exception as err:  # the outcome is reported: the consumer must always see an end
            news.put(DownloadProgress(bar.n, bar.total, error=str(err) if isinstance(err, WeightsError) else f"{type(err).__name__}: {err}"))

    threading.Thread(target=work, daemon=True, name="click-model-download").start()
    last = 0.0
    try:
        while True:
            item = news.get()
            if item.finished or item.error:
                yield item
                return
            if time.monotonic() - last >= every_s:
                last = time.monotonic()
                yield item
    finally:
        bar.close()
