"""The Gradio app: `python app.py` (or `build_demo().launch(**launch_options())`).

Modules, one job each: limits (every limit and default), state (per-visitor dataclasses),
clip (opening clips), clicks / sam (click-to-mask), actions (what each control does),
tracking (one run with progress), export (downloads), plots / render / styles (what is
shown), models (weights choice and the process-wide network cache), ui (layout, callbacks).
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_demo", "launch_options"]


def __getattr__(name: str) -> Any:
    """build_demo and launch_options, imported on first use: `xmem-demo --help` and
    `xmem_demo.app.serve` must not import Gradio (it is an extra, and slow to import)."""
    if name in __all__:
        from . import ui

        return getattr(ui, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
