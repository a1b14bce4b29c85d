"""The Gradio app: `python app.py` (or `build_demo().launch(**launch_options())`).

Modules, one job each: limits (every limit and default), state (per-visitor dataclasses),
clip (opening clips), clicks / sam (click-to-mask), actions (what each control does),
tracking (one run with progress), export (downloads), plots / render / styles (what is
shown), models (weights choice and the process-wide network cache), ui (layout, callbacks).
"""

from .ui import build_demo, launch_options

__all__ = ["build_demo", "launch_options"]
