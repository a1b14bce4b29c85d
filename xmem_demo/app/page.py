"""The page: the two tabs, each built the same way (its `layout`
makes the components, its `events` wires them), and what the page does for both (the janitor,
the queue, a closed tab's files)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from .clip_tab import events as clip_events, layout as clip_layout
from .folders import remove_session_dir, session_dir_for
from .janitor import start_janitor
from .limits import CACHE_MAX_AGE_S, CACHE_SWEEP_EVERY_S, MAX_UPLOAD
from .live_tab import events as live_events, layout as live_layout
from .styles import CSS, theme


def remove_visitor_files(request: gr.Request) -> None:
    """The tab closed: its temporary folder goes (the State's delete callback does the same)."""
    remove_session_dir(session_dir_for(request.session_hash))


def build_demo() -> gr.Blocks:
    start_janitor()  # sweeps session folders nobody else cleans (app/janitor.py)
    with gr.Blocks(
        title="XMem · long-term video object segmentation", delete_cache=(CACHE_SWEEP_EVERY_S, CACHE_MAX_AGE_S)
    ) as demo:
        with gr.Tabs(elem_id="main-tabs"):
            with gr.Tab("Clip", id="clip-main"):
                clip = clip_layout.build_layout()
            with gr.Tab("Live (camera)", id="live-main", elem_id="live-tab"):
                live = live_layout.build_layout()
        live_events.wire(demo, live, weights_input=clip.weights)  # the Live tab runs the weights chosen for clips
        clip_events.wire(demo, clip)
        demo.unload(remove_visitor_files)
    demo.queue(default_concurrency_limit=8)
    return demo


def launch_options() -> dict[str, Any]:
    """Arguments for demo.launch() (Gradio 6 takes css and theme there)."""
    return {"css": CSS + live_layout.CSS, "theme": theme(), "max_file_size": MAX_UPLOAD}
