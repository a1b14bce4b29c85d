"""Kept for old imports (notebook 06): click-to-mask now lives in the library, `xmem_demo.clicks`."""

from ..clicks import ClickSession, GrabCutSegmenter, choose_segmenter, keep_clicked_components

__all__ = ["ClickSession", "GrabCutSegmenter", "choose_segmenter", "keep_clicked_components"]
