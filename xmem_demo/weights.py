"""Which weights to run: official XMem release files (downloaded to a cache) or the bundled mini model.

Names: `xmem` (XMem.pth, the default official model), `xmem-s012`, `xmem-s2`,
`xmem-no-sensory`, `mini` (bundled, trained by this project on synthetic videos), a
local path, or `auto` (official if cached or downloadable, else mini, with a notice).

Downloads go to `$XMEM_DEMO_CACHE` (default: the platform cache dir, e.g.
~/.cache/xmem-demo), into a temporary file that is renamed only once complete and of the
announced size: a partial or corrupt download is never used.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch

from .checkpoint import CheckpointError, load_model
from .model import XMem
from .resources import MINI_WEIGHTS

RELEASE_URL = "https://github.com/hkchengrex/XMem/releases/download/v1.0/"
OFFICIAL_FILES = {
    "xmem": "XMem.pth",
    "xmem-s012": "XMem-s012.pth",
    "xmem-s2": "XMem-s2.pth",
    "xmem-no-sensory": "XMem-no-sensory.pth",
}
MINI_PATH = MINI_WEIGHTS  # package data: xmem_demo/assets/weights/xmem-mini.pth
MINI_NOTICE = (
    "Running the bundled 'mini' model: a small XMem trained by xmem-demo on synthetic videos, "
    "NOT the official XMem weights. Expect much weaker results on real videos."
)


class WeightsError(RuntimeError):
    """Weights that cannot be found or fetched, with what to do about it."""


@dataclass(frozen=True)
class WeightsChoice:
    name: str  # the resolved name: xmem, mini, or the path
    path: Path
    official: bool
    notice: str  # one line for the user: which model runs and why


def cache_dir() -> Path:
    env = os.environ.get("XMEM_DEMO_CACHE")
    if env:
        return Path(env)
    try:
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("xmem-demo"))
    except ImportError:
        return Path.home() / ".cache" / "xmem-demo"


def base_url() -> str:
    """Where official files come from; `XMEM_DEMO_WEIGHTS_URL` overrides (mirrors, tests)."""
    return os.environ.get("XMEM_DEMO_WEIGHTS_URL", RELEASE_URL)


def cached_path(name: str) -> Path:
    return cache_dir() / OFFICIAL_FILES[name]


def _manual_hint(name: str) -> str:
    return (
        f"download {base_url()}{OFFICIAL_FILES[name]} on a machine with internet and place it at "
        f"{cached_path(name)} (or pass --weights /path/to/{OFFICIAL_FILES[name]})"
    )


def download_official(name: str, timeout: float = 15.0, progress: bool = True) -> Path:
    """Return the cached file for an official name, downloading it first if needed."""
    if name not in OFFICIAL_FILES:
        raise WeightsError(f"unknown official weights '{name}'; choose one of {sorted(OFFICIAL_FILES)}")
    target = cached_path(name)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    url = base_url() + OFFICIAL_FILES[name]
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except urllib.error.HTTPError as err:
        raise WeightsError(f"could not download {url}: HTTP {err.code} {err.reason}; {_manual_hint(name)}") from None
    except (urllib.error.URLError, socket.timeout, OSError) as err:
        reason = getattr(err, "reason", err)
        raise WeightsError(f"no network access to {url} ({reason}); {_manual_hint(name)}") from None

    expected = int(response.headers.get("Content-Length") or 0) or None
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        from tqdm import tqdm

        with os.fdopen(fd, "wb") as out, response, tqdm(
            total=expected, unit="B", unit_scale=True, desc=f"downloading {target.name}",
            disable=not progress, file=sys.stderr,
        ) as bar:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                bar.update(len(chunk))
        size = tmp.stat().st_size
        if expected is not None and size != expected:
            raise WeightsError(
                f"download of {url} is incomplete ({size} of {expected} bytes); try again or {_manual_hint(name)}"
            )
        try:
            # A file that does not load is not kept: never leave a corrupt checkpoint in the cache.
            load_model(tmp)
        except CheckpointError as err:
            raise WeightsError(f"downloaded file from {url} is not a usable checkpoint: {err.reason}") from None
        tmp.replace(target)
    except (OSError, socket.timeout, http.client.HTTPException) as err:
        raise WeightsError(
            f"download of {url} failed ({type(err).__name__}: {err}); {_manual_hint(name)}"
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def offline() -> bool:
    """`XMEM_DEMO_OFFLINE=1` skips download attempts (CI, classrooms without internet)."""
    return os.environ.get("XMEM_DEMO_OFFLINE", "").lower() in ("1", "true", "yes")


def resolve(name: str = "auto", allow_download: bool = True) -> WeightsChoice:
    """Turn a weights name or path into a file, with a notice saying what runs and why."""
    allow_download = allow_download and not offline()
    if name == "mini":
        return _mini("the 'mini' model was requested")
    if name in OFFICIAL_FILES:
        path = download_official(name) if allow_download else cached_path(name)
        if not path.exists():
            raise WeightsError(f"official weights '{name}' are not cached; {_manual_hint(name)}")
        return WeightsChoice(name, path, True, f"Running the official XMem weights '{name}' ({path.name}).")
    if name == "auto":
        cached = cached_path("xmem")
        if cached.exists():
            return WeightsChoice("xmem", cached, True, f"Running the official XMem weights ({cached}).")
        if allow_download:
            try:
                path = download_official("xmem")
                return WeightsChoice("xmem", path, True, f"Running the official XMem weights ({path}).")
            except WeightsError as err:
                return _mini(f"the official weights are unavailable: {err}")
        return _mini("the official weights are not cached")
    path = Path(name)
    if path.suffix in (".pth", ".pt") or path.exists():
        if not path.exists():
            raise WeightsError(f"weights file '{path}' not found")
        return WeightsChoice(str(path), path, False, f"Running weights from {path}.")
    raise WeightsError(
        f"unknown weights '{name}': use auto, mini, {', '.join(OFFICIAL_FILES)}, or a path to a .pth file"
    )


def _mini(reason: str) -> WeightsChoice:
    if not MINI_PATH.exists():
        raise WeightsError(f"{reason}, and the bundled mini model is missing at {MINI_PATH}")
    return WeightsChoice("mini", MINI_PATH, False, f"{MINI_NOTICE} (Why: {reason}.)")


def resolve_model(name: str = "auto", device: str | torch.device = "cpu", allow_download: bool = True) -> tuple[XMem, str]:
    """Load the model for `name`; returns (model, notice to show the user)."""
    choice = resolve(name, allow_download=allow_download)
    model = load_model(choice.path, device=device)
    model.weights_name = choice.name  # type: ignore[attr-defined]
    model.is_official = choice.official  # type: ignore[attr-defined]
    return model, choice.notice


def copy_into_cache(name: str, path: str | Path) -> Path:
    """Place a manually downloaded official file into the cache after checking that it loads."""
    load_model(path)
    target = cached_path(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    return target
