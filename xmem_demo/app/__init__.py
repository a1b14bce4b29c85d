"""The Gradio app: `python app.py` (or `build_demo().launch(**launch_options())`).

One folder per tab, built the same way (`layout` makes its components, `events` wires them,
`state` is what a visitor's tab holds, without Gradio): `clip_tab/` (a clip: actions, clip,
tracking, export, plots, uploads) and `live_tab/` (the camera). Above them, `page` builds the
page; beside them what both use: limits (every limit and default), models (weights choice and
the process-wide network cache), render / styles / widgets (what is shown), visitor_errors
(what a visitor is told), folders / janitor (per-visitor files), gpu, serve.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_demo", "launch_options"]


def __getattr__(name: str) -> Any:
    """build_demo and launch_options, imported on first use: `xmem-demo --help` and
    `xmem_demo.app.serve` must not import Gradio (it is an extra, and slow to import)."""
    if name in __all__:
        from . import page

        return getattr(page, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
