"""The Live tab's page: every component with its label (no callbacks here), and what it shows
(the status line, the tracked frame as an inline JPEG).

`build_layout()` must be called inside `gr.Tab(...)`; it returns the components as a
`LiveWidgets` record for events.py to wire up, as the Clip tab's layout does.
"""


from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from typing import Any

import cv2
import gradio as gr
import numpy as np

from ...live.tracker import CPU_SIZES
from ..limits import SESSION_TTL_S
from ..widgets import CLICK_MODES, Components, click_mode_radio, clickable_frame
from .state import LiveRegistry, LiveSession, close_live_session

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
    """The Live tab's components, by name: created (and assigned) once in `build_layout`, wired in events.py."""

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


def build_layout() -> LiveWidgets:
    """The Live tab's components, top to bottom; call inside `gr.Tab(...)`. events.py wires them."""
    w = LiveWidgets(LiveRegistry())
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

    return w.complete()
