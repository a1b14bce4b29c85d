"""The Clip tab's page: every component, in order, with its label and help text (no callbacks
here).

`build_layout()` must be called inside `gr.Blocks()`; it returns the components as a
`Widgets` record for events.py to wire up.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import gradio as gr

from ...clicks import choose_segmenter, resolve_click_model, sam2_installed
from ...weights import offline
from ..limits import (
    CLIP_EXTENSIONS,
    DEFAULT_WORKING_SIZE_CPU,
    DEFAULT_WORKING_SIZE_GPU,
    SESSION_TTL_S,
    WORKING_SIZES,
    limits_markdown,
)
from ..models import banner, default_weights, device_choices, weights_choices
from ..render import banner_html, legend_html, progress_html
from ..styles import HEADER
from ..widgets import CLICK_MODES, Components, click_mode_radio, clickable_frame
from .clip import example_clips
from .plots import memory_figure
from .state import AppState, cleanup_state
from .tracking import app_memory_settings, default_memory


DOWNLOAD_WEIGHTS_LABEL = "Download official XMem weights now (~250 MB)"
BOX_MODE = "box (2 corners)"  # Clip tab only: two clicks make a box prompt


def details(summary_html: str, text: str) -> str:
    """A disclosure: one short sentence (HTML) shown, the technical details folded behind it
    (issue 25: URLs, paths and error codes are not what a visitor reads first)."""
    return f'<details class="xm-details"><summary>{summary_html}</summary><small>{html.escape(text)}</small></details>'


def click_model_line(segmenter, problem: str = "") -> str:
    """Which click model runs, in one sentence; GrabCut's reason (or a failed download's
    `problem`) folded away."""
    if segmenter.name == "grabcut":
        why = problem or resolve_click_model().reason
        return details("Clicks use <b>GrabCut</b> (offline): start with a <i>box</i> around the object.", why)
    return f"Clicks use <b>{html.escape(segmenter.label)}</b>."


@dataclass
class Widgets(Components):
    """The Clip tab's components, by name: declared here, created (and assigned) once in
    `build_layout`, wired in events.py."""

    state: Any = None
    banner_box: Any = None
    example: Any = None
    load_example_btn: Any = None
    upload: Any = None
    clip_info: Any = None
    first: Any = None
    last: Any = None
    objects_dd: Any = None
    obj_name: Any = None
    add_obj_btn: Any = None
    remove_obj_btn: Any = None
    legend: Any = None
    click_method: Any = None
    sam_btn: Any = None
    frame_slider: Any = None
    frame_image: Any = None
    click_mode: Any = None
    candidates: Any = None
    undo_btn: Any = None
    clear_btn: Any = None
    brush_tab: Any = None
    editor: Any = None
    apply_brush_btn: Any = None
    mask_file: Any = None
    status: Any = None
    track_btn: Any = None
    stop_btn: Any = None
    progress: Any = None
    preview: Any = None
    memory_plot: Any = None
    result_video: Any = None
    dl_masks: Any = None
    dl_overlay: Any = None
    dl_objects: Any = None
    dl_bundle: Any = None
    result_info: Any = None
    restore_btn: Any = None
    weights: Any = None
    device: Any = None
    working: Any = None
    memory: dict[str, Any] | None = None  # MemoryConfig field name -> its slider or checkbox (app_memory_settings)
    download_btn: Any = None
    api_x: Any = None
    api_y: Any = None
    api_positive: Any = None
    api_click_btn: Any = None

    @property
    def view_outputs(self) -> list:
        """What every annotation control refreshes."""
        return [self.state, self.frame_image, self.legend, self.objects_dd, self.obj_name, self.status]


def working_size_info() -> str:
    """Why the processing resolution starts where it does (the CLI's --help says the same)."""
    return (
        f"XMem resizes frames so that their short side is this (smaller: faster, coarser). "
        f"Starts at {default_working_size()} here: {DEFAULT_WORKING_SIZE_GPU} is the official setting (eval.py, "
        f"the paper's results) and the default on GPU; on CPU {DEFAULT_WORKING_SIZE_CPU} "
        f"({(DEFAULT_WORKING_SIZE_CPU / DEFAULT_WORKING_SIZE_GPU) ** 2:.2f}x the pixels) keeps tracking interactive. "
        "The command line uses 480."
    )


def default_working_size() -> int:
    from ...hardware import pick_device

    return DEFAULT_WORKING_SIZE_GPU if pick_device().type == "cuda" else DEFAULT_WORKING_SIZE_CPU


def memory_controls(per_row: int = 2) -> dict[str, Any]:
    """One control per memory setting the app offers, built from `MemoryConfig.settings()`
    (label, help, range), with the official default: a slider for a number, a checkbox for a
    switch. Sliders go `per_row` to a row in declaration order (r, k / T_min, T_max / P, L_max),
    switches at the end of the last row. Returns field name -> component, in declaration
    order (what /track receives by name)."""
    defaults = default_memory()
    settings = app_memory_settings()
    sliders = [name for name in settings if not isinstance(defaults[name], bool)]
    switches = [name for name in settings if isinstance(defaults[name], bool)]
    rows = [sliders[start : start + per_row] for start in range(0, len(sliders), per_row)] or [[]]
    rows[-1] = rows[-1] + switches
    controls: dict[str, Any] = {}
    for row in rows:
        with gr.Row():
            for name in row:
                setting, value = settings[name], defaults[name]
                if isinstance(value, bool):
                    controls[name] = gr.Checkbox(value, label=setting.label, info=setting.help, elem_id=f"memory-{name}")
                else:
                    controls[name] = gr.Slider(
                        setting.low, setting.high, value=value, step=setting.step, label=setting.label,
                        info=setting.help, elem_id=f"memory-{name}",
                    )  # fmt: skip
    return {name: controls[name] for name in settings}


def build_layout() -> Widgets:
    """The page, top to bottom: one builder per section, each assigning the components it
    makes to their `Widgets` fields; `complete()` names any field no section made."""
    w = Widgets()
    weights0 = default_weights()
    page_header(w, weights0)
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=320):
            clip_section(w)
            objects_section(w)
            track_controls(w)  # under the objects: in view at 1400x1000 (issue 25)
        with gr.Column(scale=7, min_width=420):
            annotation_section(w)
    tracking_views(w)
    results_section(w)
    advanced_settings(w, weights0)
    api_click_controls(w)
    return w.complete()


def page_header(w: Widgets, weights0: str) -> None:
    """The visitor's state, the title, and the banner saying which weights run."""
    b0 = banner(weights0)
    w.state = gr.State(AppState(), time_to_live=SESSION_TTL_S, delete_callback=cleanup_state)
    gr.HTML(HEADER)
    w.banner_box = gr.HTML(banner_html(b0.text, b0.official, b0.ok), elem_id="weights-banner")


def clip_section(w: Widgets) -> None:
    """Step 1: a bundled example or an upload, what was loaded, and the frame range to track."""
    examples = example_clips()
    gr.Markdown("### 1 · Load a clip")
    with gr.Tabs():
        with gr.Tab("Example clips"), gr.Row(equal_height=True):  # one row: Track stays in view
            w.example = gr.Dropdown(
                examples,
                value=examples[0] if examples else None,
                label="Bundled example",
                elem_id="example-clip",
                scale=2,
            )
            w.load_example_btn = gr.Button("Load example", variant="primary", elem_id="load-example", scale=1, min_width=100)
        with gr.Tab("Upload"):
            w.upload = gr.File(
                label=f"Video ({', '.join(e.lstrip('.') for e in CLIP_EXTENSIONS)})",
                file_count="single",
                elem_id="upload-clip",
            )
    w.clip_info = gr.Markdown("No clip loaded yet.", elem_id="clip-info")
    with gr.Row():
        w.first = gr.Number(0, label="First frame", precision=0, minimum=0, elem_id="range-first")
        w.last = gr.Number(0, label="Last frame", precision=0, minimum=0, elem_id="range-last")


def objects_section(w: Widgets) -> None:
    """Step 2: the active object (pick, rename, add, remove), the colour legend, and which
    click model turns clicks into masks (with its download button when SAM 2.1 could run)."""
    gr.Markdown("### 2 · Select objects")
    with gr.Row():
        w.objects_dd = gr.Dropdown(
            [("1 · object 1", 1)], value=1, label="Active object", scale=1, elem_id="active-object"
        )
        w.obj_name = gr.Textbox(
            "object 1", label="Name (Enter to rename)", scale=1, max_lines=1, elem_id="object-name"
        )
    with gr.Row():
        w.add_obj_btn = gr.Button("+ Add object", size="sm", elem_id="add-object")
        w.remove_obj_btn = gr.Button("Remove object", size="sm", elem_id="remove-object")
    w.legend = gr.HTML(legend_html(AppState().objects, 1), elem_id="legend")
    w.click_method = gr.Markdown(click_model_line(choose_segmenter()), elem_id="click-method")
    with gr.Row(visible=sam2_installed() and resolve_click_model().checkpoint is None and not offline()):
        w.sam_btn = gr.Button("Download the SAM 2.1 click model (hiera-tiny, ~156 MB)", size="sm", elem_id="download-click-model")


def annotation_section(w: Widgets) -> None:
    """The frame to annotate and the three ways to give its mask (click, brush, upload), with
    the status line they all report to."""
    w.frame_slider = gr.Slider(
        0, 1, value=0, step=1, label="Frame to annotate", interactive=False, elem_id="frame-slider"
    )
    with gr.Tabs():
        with gr.Tab("Click", id="click-tab"):
            click_tab(w)
        with gr.Tab("Brush", id="brush-tab") as w.brush_tab:
            brush_tab(w)
        with gr.Tab("Upload mask", id="mask-tab"):
            w.mask_file = gr.File(
                label="Index mask PNG for this frame (0 = background, 1.. = objects)",
                file_count="single",
                elem_id="mask-file",
            )
    w.status = gr.Markdown("", elem_id="annotation-status")


def click_tab(w: Widgets) -> None:
    """Clicks (include / exclude points, or a box's two corners) on the frame, undo and clear,
    and the click model's mask candidates for the last click."""
    w.frame_image = clickable_frame(
        "Click the object: include (+) / exclude (−)", 460, "frame-image", "Load a clip to start"
    )
    with gr.Row():
        w.click_mode = click_mode_radio(CLICK_MODES + [BOX_MODE], "click-mode", scale=3)
        w.undo_btn = gr.Button("↶ Undo click", scale=1, size="sm", elem_id="undo")
        w.clear_btn = gr.Button("Clear frame", scale=1, size="sm", elem_id="clear-frame")
    w.candidates = gr.Radio(
        [],
        label="Mask candidates of this click (the click model's predicted IoU): pick another",
        visible=False,
        elem_id="mask-candidates",
    )


def brush_tab(w: Widgets) -> None:
    """Painting the active object's mask: white adds, black removes."""
    w.editor = gr.ImageEditor(
        label="Paint white to add to the active object, black to remove",
        type="numpy",
        sources=(),
        transforms=(),
        height=460,
        layers=False,
        brush=gr.Brush(colors=["#ffffff", "#000000"], color_mode="fixed"),
        elem_id="brush-editor",
    )
    w.apply_brush_btn = gr.Button("Use brush strokes", elem_id="apply-brush")


def track_controls(w: Widgets) -> None:
    """Step 3: Track / Stop and the progress line (its stages: tracking, then writing the results)."""
    gr.Markdown("### 3 · Track")
    with gr.Row():
        w.track_btn = gr.Button("▶ Track", variant="primary", scale=3, elem_id="track")
        w.stop_btn = gr.Button("■ Stop", variant="stop", scale=1, elem_id="stop")
    w.progress = gr.HTML(progress_html("idle", 0, 0), elem_id="progress")


def tracking_views(w: Widgets) -> None:
    """What tracking shows as it runs: the latest frame and the memory occupancy per tier."""
    with gr.Row(equal_height=True):
        w.preview = gr.Image(label="Live preview", interactive=False, height=300, elem_id="preview")
        w.memory_plot = gr.Plot(memory_figure([]), label="Memory occupancy per tier", elem_id="memory-plot")


def results_section(w: Widgets) -> None:
    """Step 4: the overlay video and the downloads (off until a run has finished)."""
    gr.Markdown("### 4 · Results")
    with gr.Row(equal_height=False):
        w.result_video = gr.Video(label="Overlay video", interactive=False, height=360, scale=3, elem_id="result-video")
        with gr.Column(scale=2, min_width=240):
            w.dl_masks = gr.DownloadButton("Masks: palette PNGs (zip)", interactive=False, elem_id="dl-masks")
            w.dl_overlay = gr.DownloadButton("Overlay video (mp4)", interactive=False, elem_id="dl-overlay")
            w.dl_objects = gr.DownloadButton("Per-object mask videos (zip)", interactive=False, elem_id="dl-objects")
            w.dl_bundle = gr.DownloadButton(
                "Replay bundle: settings, clicks, memory trace (zip)", interactive=False, elem_id="dl-bundle"
            )
            w.result_info = gr.Markdown("", elem_id="result-info")
            w.restore_btn = gr.Button("↩ Go back to the complete result", size="sm", visible=False, elem_id="restore-result")


def advanced_settings(w: Widgets, weights0: str) -> None:
    """The folded-away settings: weights, device, processing resolution, the memory settings
    (from MemoryConfig), the official weights' download, and the app's limits."""
    with gr.Accordion("Advanced settings", open=False, elem_id="advanced"):
        with gr.Row():
            w.weights = gr.Dropdown(
                weights_choices(),
                value=weights0,
                label="Weights",
                info="auto: the official XMem weights if cached or downloadable, else the bundled lite model (not the official XMem)",
                elem_id="weights",
            )
            w.device = gr.Dropdown(
                device_choices(), value="auto", label="Device", info="auto: CUDA, then Apple MPS, then CPU"
            )
            w.working = gr.Dropdown(
                [(f"{s} px", s) for s in WORKING_SIZES] + [("clip's own size", -1)],
                value=default_working_size(),
                label="Processing resolution (short side)",
                allow_custom_value=True,
                info=working_size_info(),
            )
        w.memory = memory_controls()
        with gr.Row():
            w.download_btn = gr.Button(DOWNLOAD_WEIGHTS_LABEL, size="sm", elem_id="download-weights")
        gr.Markdown(limits_markdown())


def api_click_controls(w: Widgets) -> None:
    """Hidden controls for clicks by full-resolution coordinates: the image's select event
    needs a browser, so gradio_client clicks through these."""
    with gr.Row(visible=False):
        w.api_x = gr.Number(0, label="x")
        w.api_y = gr.Number(0, label="y")
        w.api_positive = gr.Checkbox(True, label="positive")
        w.api_click_btn = gr.Button("click")
