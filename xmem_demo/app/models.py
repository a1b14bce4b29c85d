"""Which XMem weights the app runs, and a small process-wide cache of loaded networks.

The cache is keyed by (weights file, device): weights are read-only, so one loaded network
can serve every visitor (each run has its own `InferenceSession` with its own memory).
Nothing per visitor is kept here.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import torch

from ..checkpoint import WeightsInfo, load_model_with_info
from ..model import XMem
from ..validate import resolve_device
from ..weights import OFFICIAL_FILES, WeightsError, base_url, cached_path, offline, resolve, resolve_model

WEIGHTS_ENV = "XMEM_DEMO_WEIGHTS"  # default weights choice of the app: auto, lite, mini, xmem, or a .pth path


@dataclass(frozen=True)
class Banner:
    text: str
    official: bool
    ok: bool = True  # False: no usable weights at all


def default_weights() -> str:
    return os.environ.get(WEIGHTS_ENV, "auto")


def weights_choices() -> list[tuple[str, str]]:
    """(label, value) pairs for the weights dropdown."""
    choices = [
        ("auto: official XMem if available, else the bundled lite model", "auto"),
        ("official XMem (XMem.pth, downloaded once)", "xmem"),
        ("lite (bundled: our heads on a frozen ImageNet EfficientNet-Lite0; not the official XMem)", "lite"),
        ("mini (bundled, trained from scratch on synthetic videos; weakest)", "mini"),
    ]
    choices += [(f"official {name}", name) for name in OFFICIAL_FILES if name != "xmem"]
    default = default_weights()
    if default not in [v for _, v in choices]:
        choices.append((f"file: {default}", default))
    return choices


def device_choices() -> list[str]:
    out = ["auto", "cpu"]
    if torch.cuda.is_available():
        out.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    return out


def download_blocker(timeout: float = 3.0, url: str | None = None) -> str | None:
    """Why the official weights (or the file at `url`) cannot be downloaded now (None: they
    can, as far as we know).

    Downloads are off with XMEM_DEMO_OFFLINE=1; otherwise one TCP connection to the download
    host (at most `timeout` seconds) tells whether there is a network path to it.
    """
    if offline():
        return "downloads are switched off (XMEM_DEMO_OFFLINE=1)"
    url = urlsplit(url or base_url())
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as err:
        return f"this machine cannot reach {host} ({err.strerror or type(err).__name__}): it looks offline"


def banner(name: str) -> Banner:
    """What would run for `name`, without loading or downloading anything.

    For official weights that are not cached, it says before Track whether they can be
    downloaded (see `download_blocker`): offline, Track could not run them.
    """
    try:
        choice = resolve(name, allow_download=False)
    except WeightsError as err:
        if name in OFFICIAL_FILES:
            file = OFFICIAL_FILES[name]
            blocker = download_blocker()
            if blocker is None:
                return Banner(
                    f"Official weights '{name}' are not cached yet: {file} (~250 MB) is downloaded when you press "
                    "Track (or now, with the button in Advanced settings).",
                    True,
                )
            return Banner(
                f"Official weights '{name}' cannot be used here: {file} is not cached and {blocker}. Choose 'auto' "
                f"(the bundled lite model) to track now, or place {file} at {cached_path(name)} and choose '{name}' again.",
                False,
                ok=False,
            )
        return Banner(f"No usable weights: {err}", False, ok=False)
    return Banner(choice.notice, choice.official)


@lru_cache(maxsize=2)
def _load(path: str, device: str) -> tuple[XMem, WeightsInfo]:
    # One network per (file, device) and process, shared read-only by every visitor's
    # sessions; each session runs its inference-only copy (session.inference_network: made
    # once per network, for as long as this cache holds it).
    return load_model_with_info(path, device=device)


def get_model(name: str, device: str = "auto") -> tuple[XMem, WeightsInfo]:
    """Load (once per process) the network for a weights choice; returns (model, info).

    `info.notice` is the line for the visitor, `info.label` the short status label. May
    download the official weights (unless XMEM_DEMO_OFFLINE=1); `auto` never fails on a bad
    cached official file (it is moved aside and the offline default, lite, runs). Raises WeightsError or
    CheckpointError with a message for the visitor.
    """
    dev = str(resolve_device(device))
    return resolve_model(name, dev, allow_download=True, loader=lambda path, d: _load(str(path), str(d)))


_BLOCKERS: dict[str, tuple[float, str | None]] = {}  # url -> (checked at, blocker)
BLOCKER_TTL_S = 60.0


def recent_download_blocker(url: str | None = None) -> str | None:
    """`download_blocker`, checked at most once a minute per host for the whole server (a
    page load asks it for each download button; one TCP probe per visitor would add up)."""
    key = url or base_url()
    now = time.monotonic()
    cached = _BLOCKERS.get(key)
    if cached is None or now - cached[0] > BLOCKER_TTL_S or offline():
        cached = (now, download_blocker(url=url))
        _BLOCKERS[key] = cached
    return cached[1]
