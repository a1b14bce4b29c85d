"""The Live tab: the browser's camera streams to the server, the visitor freezes a frame, clicks
the target, and every frame that arrives afterwards comes back segmented, with FPS, latency
and the memory per tier. The logic is in live_session.py (no Gradio) and xmem_demo.live.

Streaming (Gradio's `Image(sources="webcam", streaming=True).stream`): the browser sends a
JPEG every `stream_every_s` seconds, answered or not; Gradio keeps one pending chunk per
visitor, a newer one replacing it, so the tracker always takes the newest frame and nothing
queues (see live_session.py for how the dropped frames are counted). Results go back as an inline JPEG (no file per
frame on the server). `time_limit_s` ends one stream; `max_streams` bounds concurrent ones.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from typing import Any

import cv2
import gradio as gr
import numpy as np

from ..checkpoint import CheckpointError
from ..errors import UserError
from ..live import FrameError, LiveResult
from ..live.tracker import CPU_SIZES
from .layout import CLICK_MODES, Components, click_mode_radio, clickable_frame
from .limits import SESSION_TTL_S
from .live_session import LIMITS, LiveRegistry, LiveSession, close_live_session
from .models import get_model
from ..weights import WeightsError
from .state import session_dir_for

PHASE_NOTES = {
    "waiting": "Press ● Record in the camera box and allow the camera.",
    "preview": "Camera on. Press ❄ Freeze to hold a frame, click the object on it, then ▶ Track.",
    "annotating": "Frozen. Click the object (include + / exclude −) on the frame below, then ▶ Track "
    "(while tracking, this corrects the target and keeps the memory).",
    "tracking": "Tracking every frame that arrives. ❄ Freeze to re-annotate, ↺ Reset memory to start "
    "the memory over, ■ Stop for the downloads.",
    "stopped": "Stopped: the downloads are below. ❄ Freeze a frame to start a new live session.",
}

INTRO = """### Live: track an object from your camera
XMem is *online*: each frame needs only the frames before it, so it can track what your camera
films as it films. Freeze a frame, click the object, press **Track**. Frames the tracker cannot
keep up with are dropped (the newest always wins), so the delay stays short; on a CPU it runs at a
smaller processing size that it picks for this machine (shown below)."""


CSS = """
#live-output .xm-live-img { width: 100%; height: auto; border-radius: 6px; }
.xm-live-empty { padding: 4em 1em; text-align: center; color: var(--body-text-color-subdued); border: 1px dashed var(--border-color-primary); border-radius: 6px; }
.xm-live-status { font-size: 0.92em; display: grid; gap: 0.25em; }
.xm-live-error { color: #912018; }
.xm-live-mem td { padding: 0.1em 0.6em 0.1em 0; border: none; }
.xm-live-mem td:nth-child(3) { width: 30%; }
.xm-live-num { text-align: right; white-space: nowrap; }
#live-frozen img { cursor: crosshair; }
"""


def image_html(image: np.ndarray | None, alt: str = "live frame", quality: int = 80) -> str:
    """An RGB frame as an inline JPEG <img> (nothing written to disk per frame)."""
    if image is None:
        return '<div class="xm-live-empty">No frame yet</div>'
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        return '<div class="xm-live-empty">frame could not be encoded</div>'
    data = base64.b64encode(buf.tobytes()).decode("ascii")
    h, w = image.shape[:2]
    return f'<img class="xm-live-img" alt="{alt}" width="{w}" height="{h}" src="data:image/jpeg;base64,{data}"/>'


def _mb(n: int) -> str:
    return f"{n / 2**20:.2f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"


def status_html(s: LiveSession | None, error: str = "") -> str:
    """Phase, model, FPS, latency, frames and memory per tier (the live figures)."""
    phase = "waiting" if s is None else s.phase
    parts = [f'<div class="xm-live-phase"><b>{html.escape(phase)}</b> · {html.escape(PHASE_NOTES[phase])}</div>']
    if error:
        parts.append(f'<div class="xm-live-error">⚠️ {html.escape(error)}</div>')
    if s is not None:
        # What each number counts (issue 25: "dropped ≈1547" next to "received 83" read as a bug).
        segmented = s.tracker.stats.frames if s.tracker is not None else 0
        received = (
            f"camera frames: sent by the page ≈ <b>{s.frames_sent_estimate}</b> (one every "
            f"{s.limits.stream_every_s:g} s) · received by the server: <b>{s.frames_received}</b> · "
            f"segmented: <b>{segmented}</b> · skipped ≈ <b>{s.frames_dropped_estimate}</b> "
            "<small>(a newer frame replaced them while one was being segmented: the newest wins, so the "
            "picture stays current)</small>"
        )
        parts.append(f'<div class="xm-live-row">{received}</div>')
    t = None if s is None else s.tracker
    if t is not None:
        st = t.stats
        cfg = t.config.memory
        parts.append(
            f'<div class="xm-live-row">model: <b>{html.escape(s.model_label)}</b> · processing size: '
            f"<b>{st.processing_size} px</b> <small>({html.escape(t.size.reason)})</small></div>"
        )
        parts.append(
            f'<div class="xm-live-row">frames segmented: <b class="xm-live-frames">{st.frames}</b> · '
            f"<b>{st.fps:.1f} FPS</b> · latency (frame received → result) <b>{1000 * st.latency_s:.0f} ms</b> · "
            f"XMem step {1000 * st.step_s:.0f} ms</div>"
        )
        hw = st.elements_per_frame
        tiers = [
            ("sensory (h)", st.memory_bytes.get("sensory", 0), ""),
            ("working", st.memory_bytes.get("working", 0),
             f"{st.working_size:,} / {cfg.max_mid_term_frames * hw:,} elements (T_max = {cfg.max_mid_term_frames} frames)"),
            ("long-term", st.memory_bytes.get("long_term", 0),
             f"{st.long_term_size:,} / {cfg.max_long_term_elements:,} elements (L_max) · "
             f"{st.consolidations} consolidations, {st.forgettings} forgettings"),
        ]
        peak = max(st.peak_memory_bytes, 1)
        rows = "".join(
            f'<tr><td>{name}</td><td class="xm-live-num">{_mb(b)}</td>'
            f'<td><div class="xm-bar"><div class="xm-fill" style="width:{100 * b / peak:.0f}%"></div></div></td>'
            f"<td><small>{detail}</small></td></tr>"
            for name, b, detail in tiers
        )
        parts.append(f'<table class="xm-live-mem">{rows}</table>')
    return '<div class="xm-live-status" id="live-status-inner">' + "".join(parts) + "</div>"


@dataclass
class LiveWidgets(Components):
    """The Live tab's components, by name: created (and assigned) once in `build_live_tab`."""

    registry: LiveRegistry
    state: Any = None
    camera: Any = None
    output: Any = None
    status: Any = None
    freeze_btn: Any = None
    track_btn: Any = None
    reset_btn: Any = None
    stop_btn: Any = None
    frozen: Any = None
    click_mode: Any = None
    object_dd: Any = None
    add_obj_btn: Any = None
    undo_btn: Any = None
    clear_btn: Any = None
    size_dd: Any = None
    dl_overlay: Any = None
    dl_masks: Any = None
    dl_bundle: Any = None


def _objects_update(s: LiveSession):
    return gr.update(choices=[(f"object {i}", i) for i in s.objects], value=s.active)


def build_live_tab(demo: gr.Blocks, weights_input: Any) -> LiveWidgets:
    """The Live tab's components and callbacks; call inside `gr.Tab(...)` within `demo`.

    weights_input: the app's weights dropdown (the same choice as for clips).
    """
    w = LiveWidgets(LiveRegistry())
    demo.live_sessions = w.registry  # type: ignore[attr-defined]  (tests and the unload read it)
    # Freed when the tab closes (unload, below), or after SESSION_TTL_S without an update.
    w.state = gr.State(None, time_to_live=SESSION_TTL_S, delete_callback=close_live_session)
    gr.Markdown(INTRO)
    with gr.Row(equal_height=False):
        w.camera = gr.Image(
            sources="webcam",
            streaming=True,
            type="numpy",
            label="Camera (press ● Record to stream)",
            webcam_options=gr.WebcamOptions(
                mirror=False, constraints={"video": {"width": {"ideal": 640}, "height": {"ideal": 480}}}
            ),
            height=360,
            elem_id="live-camera",
        )
        with gr.Column():
            w.output = gr.HTML(image_html(None), label="Tracked", elem_id="live-output")
            w.status = gr.HTML(status_html(None), elem_id="live-status")
    with gr.Row():
        w.freeze_btn = gr.Button("❄ Freeze frame", elem_id="live-freeze")
        w.track_btn = gr.Button("▶ Track", variant="primary", elem_id="live-track")
        w.reset_btn = gr.Button("↺ Reset memory", elem_id="live-reset")
        w.stop_btn = gr.Button("■ Stop", variant="stop", elem_id="live-stop")
    with gr.Row(equal_height=False):
        w.frozen = clickable_frame(
            "Frozen frame: click the object", 400, "live-frozen", "Press ❄ Freeze to hold the current camera frame"
        )
        with gr.Column(min_width=260):
            w.click_mode = click_mode_radio(CLICK_MODES, "live-click-mode")
            w.object_dd = gr.Dropdown([("object 1", 1)], value=1, label="Active object", elem_id="live-object")
            with gr.Row():
                w.add_obj_btn = gr.Button("+ Object", size="sm", elem_id="live-add-object")
                w.undo_btn = gr.Button("↶ Undo", size="sm", elem_id="live-undo")
                w.clear_btn = gr.Button("Clear", size="sm", elem_id="live-clear")
            w.size_dd = gr.Dropdown(
                [("auto: measured on this machine", "auto")] + [(f"{s} px", s) for s in CPU_SIZES],
                value="auto",
                label="Processing size (short side)",
                info="auto: 480 on a GPU; on a CPU the largest that keeps up with 8 FPS",
                elem_id="live-size",
            )
            w.dl_overlay = gr.DownloadButton("Overlay video (mp4)", interactive=False, elem_id="live-dl-overlay")
            w.dl_masks = gr.DownloadButton("Masks (zip)", interactive=False, elem_id="live-dl-masks")
            w.dl_bundle = gr.DownloadButton("Live session: video, masks, memory trace (zip)", interactive=False, elem_id="live-dl-bundle")

    _wire(demo, w.complete(), weights_input)
    return w


def _wire(demo: gr.Blocks, w: LiveWidgets, weights_input: Any) -> None:
    registry = w.registry

    def session(s: LiveSession | None, request: gr.Request) -> LiveSession:
        if isinstance(s, LiveSession) and not s.closed:
            return s
        s = LiveSession(session_dir_for(request.session_hash) / "live")
        registry.add(request.session_hash, s)
        return s

    def view(s: LiveSession, error: str = "") -> dict:
        return {w.state: s, w.frozen: s.frozen_view(), w.status: status_html(s, error), w.object_dd: _objects_update(s)}

    def apply(s: LiveSession | None, request: gr.Request, fn, show=None) -> dict:
        """Run an action; a UserError (errors.py's family, FrameError included) becomes a message in
        the status, never a traceback. `show` turns the action's result into more component updates."""
        s = session(s, request)
        try:
            result = fn(s)
        except UserError as err:
            return view(s, str(err))
        return {**view(s), **show(result)} if show else view(s)

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
            return view(s, f"cannot load the weights '{weights}': {err}")
        try:
            result = s.track(model, None if size in (None, "auto") else int(size), weights=info)
        except UserError as err:
            return view(s, str(err))
        return {**view(s), w.output: image_html(result.overlay()), **_downloads(w, None)}

    w.track_btn.click(on_track, [w.state, weights_input, w.size_dd], view_outputs + [w.output, w.dl_overlay, w.dl_masks, w.dl_bundle],
                      api_visibility="private", concurrency_id="live-track", concurrency_limit=LIMITS.max_streams)

    on_reset = action(lambda s: s.reset_memory(), show=lambda result: {w.output: image_html(result.overlay())})
    w.reset_btn.click(on_reset, w.state, view_outputs + [w.output], api_visibility="private")
    on_stop = action(lambda s: s.stop(), show=lambda downloads: _downloads(w, downloads))
    w.stop_btn.click(on_stop, w.state, view_outputs + [w.dl_overlay, w.dl_masks, w.dl_bundle], api_visibility="private")

    def on_unload(request: gr.Request) -> None:
        registry.close(request.session_hash)

    demo.unload(on_unload)


def _downloads(w: LiveWidgets, d) -> dict:
    if d is None:
        return {b: gr.update(value=None, interactive=False) for b in (w.dl_overlay, w.dl_masks, w.dl_bundle)}
    return {
        w.dl_overlay: gr.update(value=d.overlay, interactive=d.overlay is not None),
        w.dl_masks: gr.update(value=d.masks_zip, interactive=True),
        w.dl_bundle: gr.update(value=d.bundle_zip, interactive=True),
    }
