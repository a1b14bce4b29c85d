"""The Live tab: the browser's camera streams to the server, the visitor freezes a frame, clicks
the target, and every frame that arrives afterwards comes back segmented, with FPS, latency
and the memory per tier. The logic is in state.py (no Gradio) and xmem_demo.live; the page in layout.py.

Streaming (Gradio's `Image(sources="webcam", streaming=True).stream`): the browser sends a
JPEG every `stream_every_s` seconds, answered or not; Gradio keeps one pending chunk per
visitor, a newer one replacing it, so the tracker always takes the newest frame and nothing
queues (see state.py for how the dropped frames are counted). Results go back as an inline JPEG (no file per
frame on the server). `time_limit_s` ends one stream; `max_streams` bounds concurrent ones.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np

from ...checkpoint import CheckpointError
from ...errors import UserError
from ...live import FrameError, LiveResult
from ...weights import WeightsError
from ..folders import session_dir_for
from ..limits import LIMITS
from ..models import get_model
from .layout import LiveWidgets, image_html, status_html
from .state import LiveSession

class LiveViews:
    """A visitor's `LiveSession` as component updates (the Live tab's counterpart of the Clip
    tab's `Views`)."""

    def __init__(self, w: LiveWidgets) -> None:
        self.w = w

    def view(self, s: LiveSession, error: str = "") -> dict:
        w = self.w
        return {w.state: s, w.frozen: s.frozen_view(), w.status: status_html(s, error), w.object_dd: self.objects(s)}

    @staticmethod
    def objects(s: LiveSession):
        return gr.update(choices=[(f"object {i}", i) for i in s.objects], value=s.active)

    def downloads(self, d) -> dict:
        w = self.w
        if d is None:
            return {b: gr.update(value=None, interactive=False) for b in (w.dl_overlay, w.dl_masks, w.dl_bundle)}
        return {
            w.dl_overlay: gr.update(value=d.overlay, interactive=d.overlay is not None),
            w.dl_masks: gr.update(value=d.masks_zip, interactive=True),
            w.dl_bundle: gr.update(value=d.bundle_zip, interactive=True),
        }


def wire(demo: gr.Blocks, w: LiveWidgets, weights_input: Any) -> None:
    """The Live tab's callbacks. weights_input: the app's weights dropdown (the same choice as
    for clips)."""
    registry = w.registry
    demo.live_sessions = registry  # type: ignore[attr-defined]  (tests and the unload read it)
    views = LiveViews(w)

    def session(s: LiveSession | None, request: gr.Request) -> LiveSession:
        if isinstance(s, LiveSession) and not s.closed:
            return s
        s = LiveSession(session_dir_for(request.session_hash) / "live")
        registry.add(request.session_hash, s)
        return s

    def apply(s: LiveSession | None, request: gr.Request, fn, show=None) -> dict:
        """Run an action; a UserError (errors.py's family, FrameError included) becomes a message in
        the status, never a traceback. `show` turns the action's result into more component updates."""
        s = session(s, request)
        try:
            result = fn(s)
        except UserError as err:
            return views.view(s, str(err))
        return {**views.view(s), **show(result)} if show else views.view(s)

    def action(fn, show=None):
        def run(s: LiveSession | None, request: gr.Request) -> dict:
            return apply(s, request, fn, show)

        return run

    view_outputs = [w.state, w.frozen, w.status, w.object_dd]

    def on_stream(s: LiveSession | None, frame: np.ndarray | None, request: gr.Request):
        if isinstance(s, LiveSession) and s.closed:  # a late frame after the tab closed: never revive it
            return {}
        s = session(s, request)
        try:
            out = s.on_frame(frame)
        except FrameError as err:
            return {w.state: s, w.status: status_html(s, str(err))}
        if out is None:  # dropped: the tracker was busy (newest wins)
            return {w.state: s}
        image = out.overlay() if isinstance(out, LiveResult) else out
        return {w.state: s, w.output: image_html(image), w.status: status_html(s)}

    w.camera.stream(
        on_stream,
        [w.state, w.camera],
        [w.state, w.output, w.status],
        stream_every=LIMITS.stream_every_s,
        time_limit=LIMITS.time_limit_s,
        concurrency_limit=LIMITS.max_streams,
        concurrency_id="live",
        show_progress="hidden",
        api_visibility="private",
    )

    w.freeze_btn.click(action(lambda s: s.freeze()), w.state, view_outputs, api_visibility="private")

    def on_select(s, mode: str, evt: gr.SelectData, request: gr.Request):
        x, y = evt.index[:2]
        return apply(s, request, lambda s: s.click(float(x), float(y), mode.startswith("include")))

    def on_object(s, value, request: gr.Request):
        return apply(s, request, lambda s: s.select_object(value))

    w.frozen.select(on_select, [w.state, w.click_mode], view_outputs, api_visibility="private")
    w.undo_btn.click(action(lambda s: s.undo()), w.state, view_outputs, api_visibility="private")
    w.clear_btn.click(action(lambda s: s.clear()), w.state, view_outputs, api_visibility="private")
    w.add_obj_btn.click(action(lambda s: s.add_object()), w.state, view_outputs, api_visibility="private")
    w.object_dd.input(on_object, [w.state, w.object_dd], view_outputs, api_visibility="private")

    def on_track(s, weights: str, size, request: gr.Request):
        s = session(s, request)
        try:
            model, info = get_model(weights or "auto")
        except (WeightsError, CheckpointError, OSError) as err:  # weights that cannot be loaded or fetched
            return views.view(s, f"cannot load the weights '{weights}': {err}")
        try:
            result = s.track(model, None if size in (None, "auto") else int(size), weights=info)
        except UserError as err:
            return views.view(s, str(err))
        return {**views.view(s), w.output: image_html(result.overlay()), **views.downloads(None)}

    w.track_btn.click(on_track, [w.state, weights_input, w.size_dd], view_outputs + [w.output, w.dl_overlay, w.dl_masks, w.dl_bundle],
                      api_visibility="private", concurrency_id="live-track", concurrency_limit=LIMITS.max_streams)

    on_reset = action(lambda s: s.reset_memory(), show=lambda result: {w.output: image_html(result.overlay())})
    w.reset_btn.click(on_reset, w.state, view_outputs + [w.output], api_visibility="private")
    on_stop = action(lambda s: s.stop(), show=lambda downloads: views.downloads(downloads))
    w.stop_btn.click(on_stop, w.state, view_outputs + [w.dl_overlay, w.dl_masks, w.dl_bundle], api_visibility="private")

    def on_unload(request: gr.Request) -> None:
        registry.close(request.session_hash)

    demo.unload(on_unload)
