"""What both tabs build their pages from: a record of named components that checks it is
complete, and the frame to click on with its include / exclude choice."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import gradio as gr

CLICK_MODES = ["include (+)", "exclude (−)"]  # a point click adds to / removes from the active object


class Components:
    """Base of a dataclass that names a page's components: each field starts as None and is
    assigned once, where its component is created; `complete()` then checks none was missed."""

    def complete(self):
        """Self, once every component exists (a field left unassigned is a layout bug)."""
        missing = [f.name for f in fields(self) if getattr(self, f.name) is None]
        if missing:
            raise RuntimeError(f"{type(self).__name__}: the layout did not create: {', '.join(missing)}")
        return self


def click_mode_radio(modes: list[str], elem_id: str, **kwargs: Any) -> Any:
    """The include / exclude (/ box) choice for clicks on a frame (Clip and Live tabs)."""
    return gr.Radio(modes, value=modes[0], show_label=False, elem_id=elem_id, **kwargs)


def clickable_frame(label: str, height: int, elem_id: str, placeholder: str) -> Any:
    """A frame to click on (Clip and Live tabs): not editable; its `.select` event gives the
    clicked pixel in the shown (display-size) image."""
    return gr.Image(label=label, interactive=False, type="numpy", height=height, elem_id=elem_id, placeholder=placeholder)
