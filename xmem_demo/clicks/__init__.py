"""Click-to-mask: turn clicks (and a box) on one frame into one object's mask.

- `Sam2Segmenter` (sam2_segmenter.py): SAM 2.1 (hiera-tiny by default), the default whenever
  its weights are available; one image embedding per frame, one cheap decode per click.
- `GrabCutSegmenter` (grabcut.py): the offline fallback, no weights, labelled as such.
- `ClickSession` (click_session.py): one visitor's state: the bounded embedding cache, the logits that
  the next click refines, the candidates of the last click, a pending box corner.
- `choose_segmenter()` (choose.py): which model runs now; `download_click_model()` (download.py)
  fetches the SAM 2.1 weights with the project's downloader.
See docs/click_models.md for the choice of model and measured speeds.
"""

from .cache import EmbeddingCache
from .choose import ClickModelChoice, choose_segmenter, load_click_model, resolve_click_model
from .grabcut import GrabCutSegmenter, keep_clicked_components
from .prompts import Box, Click, PointLike, Prediction, Prompt
from .sam2_model import DEFAULT_MODEL, SAM2_MODELS, ClickModelError, Sam2Spec, sam2_installed
from .click_session import ClickRecord, ClickSession

__all__ = [
    "Box",
    "Click",
    "ClickModelChoice",
    "ClickModelError",
    "ClickRecord",
    "ClickSession",
    "DEFAULT_MODEL",
    "EmbeddingCache",
    "GrabCutSegmenter",
    "PointLike",
    "Prediction",
    "Prompt",
    "SAM2_MODELS",
    "Sam2Spec",
    "choose_segmenter",
    "keep_clicked_components",
    "load_click_model",
    "resolve_click_model",
    "sam2_installed",
]
