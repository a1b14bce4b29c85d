"""Optional Segment Anything (SAM) click-to-mask, used only when both are present:

- the `segment_anything` package (`pip install segment-anything`), and
- a SAM checkpoint in the xmem-demo weights cache (`download_sam()` puts one there, with a
  progress bar; or copy `sam_vit_b_01ec64.pth` into `xmem_demo.weights.cache_dir()`).

Otherwise the app uses GrabCut (clicks.py). The SAM network is cached per process (its
weights are read-only); the image embedding is computed per call and never shared between
visitors.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import urllib.error
import urllib.request
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from ..weights import cache_dir
from .state import Click

SAM_URL = "https://dl.fbaipublicfiles.com/segment_anything/"
SAM_FILES = {  # smallest first: the first one found is used
    "vit_b": "sam_vit_b_01ec64.pth",
    "vit_l": "sam_vit_l_0b3195.pth",
    "vit_h": "sam_vit_h_4b8939.pth",
}


class SamError(RuntimeError):
    """SAM cannot be installed or fetched; says what to do instead."""


def sam_installed() -> bool:
    return importlib.util.find_spec("segment_anything") is not None


def find_checkpoint() -> tuple[str, Path] | None:
    for kind, filename in SAM_FILES.items():
        path = cache_dir() / filename
        if path.exists():
            return kind, path
    return None


def download_sam(kind: str = "vit_b", timeout: float = 15.0, progress: bool = True) -> Path:
    """Fetch a SAM checkpoint into the cache (atomically: a partial file is never kept)."""
    if kind not in SAM_FILES:
        raise SamError(f"unknown SAM model '{kind}'; choose one of {sorted(SAM_FILES)}")
    target = cache_dir() / SAM_FILES[kind]
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    url = SAM_URL + SAM_FILES[kind]
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except (urllib.error.URLError, OSError) as err:
        raise SamError(f"could not download {url} ({getattr(err, 'reason', err)}); GrabCut stays active") from None
    expected = int(response.headers.get("Content-Length") or 0) or None
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        from tqdm import tqdm

        with (
            os.fdopen(fd, "wb") as out,
            response,
            tqdm(
                total=expected,
                unit="B",
                unit_scale=True,
                desc=f"downloading {target.name}",
                disable=not progress,
                file=sys.stderr,
            ) as bar,
        ):
            while chunk := response.read(1 << 20):
                out.write(chunk)
                bar.update(len(chunk))
        if expected is not None and tmp.stat().st_size != expected:
            raise SamError(f"download of {url} is incomplete; try again")
        tmp.replace(target)
    except OSError as err:
        raise SamError(f"download of {url} failed ({err})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


@lru_cache(maxsize=1)
def _load_sam(kind: str, path: str, device: str):
    from segment_anything import sam_model_registry

    model = sam_model_registry[kind](checkpoint=path)
    return model.to(device).eval()


class SamSegmenter:
    name = "sam"

    def __init__(self, kind: str, path: Path, device: str = "cpu") -> None:
        self.kind, self.path, self.device = kind, Path(path), str(device)
        self.label = f"Segment Anything ({kind}, {self.path.name})"

    def segment(self, frame: np.ndarray, clicks: Sequence[Click]) -> np.ndarray:
        h, w = frame.shape[:2]
        if not any(c.positive for c in clicks):
            return np.zeros((h, w), bool)
        from segment_anything import SamPredictor

        predictor = SamPredictor(_load_sam(self.kind, str(self.path), self.device))
        predictor.set_image(np.ascontiguousarray(frame))
        coords = np.array([[c.x, c.y] for c in clicks], dtype=np.float32)
        labels = np.array([1 if c.positive else 0 for c in clicks], dtype=np.int32)
        masks, scores, _ = predictor.predict(
            point_coords=coords, point_labels=labels, multimask_output=len(clicks) == 1
        )
        return np.asarray(masks[int(np.argmax(scores))], dtype=bool)
