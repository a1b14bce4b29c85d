"""The callbacks: what each control of layout.py triggers. The logic lives in actions.py /
tracking.py; this module maps controls to those functions and their results back to components.

`build_demo` lays out the page and then wires it, one feature at a time (`wire_clip`,
`wire_annotation`, `wire_objects`, `wire_tracking`, `wire_weights`, `wire_click_model`);
`Views` turns a visitor's `AppState` into component updates for all of them.

Per-visitor data lives only in the `gr.State` (an `AppState`), created per tab and cleaned
(with the visitor's temporary folder) when the tab closes.
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Any, Callable

import gradio as gr

from ..checkpoint import CheckpointError
from ..clicks import ClickModelError, choose_segmenter, resolve_click_model, sam2_installed
from ..clicks.choose import requested_model
from ..clicks.download import download_progress
from ..session import MaskError
from ..video import VideoError
from ..weights import WeightsError, cached_path, download_official, offline
from . import actions
from .gpu import CLICK_SECONDS, gpu_task, track_request_duration
from .janitor import start_janitor
from .layout import Widgets, build_layout, click_model_line
from .limits import CACHE_MAX_AGE_S, CACHE_SWEEP_EVERY_S, MAX_CONCURRENT_RUNS, MAX_UPLOAD
from .live import CSS as LIVE_CSS, build_live_tab
from .models import banner, download_blocker
from .plots import memory_figure
from .render import banner_html, legend_html, progress_html
from .state import AppState, UserError, ensure_session_dir, remove_session_dir, session_dir_for
from .styles import CSS, theme
from .tracking import TrackSettings, run_tracking

# Click, undo and clear events run one at a time (all visitors together) so that one visitor's
# rapid clicks are applied in order to their state; a click takes ~0.1-0.5 s of click-to-mask.
ANNOTATE_WORKERS = 1

# Loading a clip (the example when the page opens, *Load example*, an upload) runs in one
# queue, one at a time, so a visitor's early click on *Load example*, or an upload, is applied
# after the page's own example load and never overwritten by it. A load only opens the file
# and decodes its first frame (the bundled example: see docs/app.md for the time it takes).
CLIP_LOAD_WORKERS = 1

VISITOR_ERRORS = (UserError, VideoError, MaskError, WeightsError, CheckpointError, ClickModelError, ValueError, OSError)


def visitor_errors(fn: Callable) -> Callable:
    """Turn a bad input into a message in the UI (gr.Error) instead of a server traceback."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except VISITOR_ERRORS as err:
                raise gr.Error(str(err), print_exception=False) from None

        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except VISITOR_ERRORS as err:
            raise gr.Error(str(err), print_exception=False) from None

    return wrapper


DOWNLOAD_TITLES = {  # RunResult field -> download button title
    "masks_zip": "Masks: palette PNGs (zip)",
    "overlay": "Overlay video (mp4)",
    "objects_zip": "Per-object mask videos (zip)",
    "bundle_zip": "Replay bundle: settings, clicks, memory trace (zip)",
}


def download_labels(result) -> dict[str, str]:
    """The download buttons' labels: with the file sizes of this run, plain without a run."""
    return {key: _file_label(title, getattr(result, key, None) if result else None)
            for key, title in DOWNLOAD_TITLES.items()}


def _file_label(title: str, path: str | None) -> str:
    if not path or not Path(path).exists():
        return title
    size = Path(path).stat().st_size
    return f"{title} ({size / 2**20:.1f} MB)" if size >= 2**20 else f"{title} ({size / 2**10:.0f} KB)"


def weights_banner(name: str) -> str:
    """The banner saying which weights run and what they can do."""
    b = banner(name)
    return banner_html(b.text, b.official, b.ok)


class Views:
    """A visitor's `AppState` as component updates (dicts component -> value), shared by the
    wiring functions below."""

    def __init__(self, w: Widgets) -> None:
        self.w = w
        self.outputs = w.view_outputs  # what every annotation control refreshes
        self.click_outputs = self.outputs + [w.candidates]
        self.editor_outputs = self.outputs + [w.editor]
        # What loading a clip refreshes: the view, the editor, the clip's range and the results.
        self.clip_outputs = self.editor_outputs + [
            w.clip_info, w.frame_slider, w.first, w.last, w.preview, w.memory_plot, w.progress,
            w.result_video, w.result_info, w.dl_masks, w.dl_overlay, w.dl_objects, w.dl_bundle,
        ]  # fmt: skip

    def view(self, s: AppState, with_editor: bool = False) -> dict:
        w = self.w
        frames = actions.annotated_frames(s)
        obj = s.object(s.active)
        ann = ", ".join(
            f"{t} ({len([o for o in frames if t in frames[o]])} obj)"
            for t in sorted({t for v in frames.values() for t in v})
        )
        note = f"Annotated frames: {ann}." if ann else "No annotation yet: click on the object."
        if s.result is not None and s.result.first <= s.frame <= s.result.last and s.frame not in s.edits:
            note += " This frame shows the tracking result: click to correct it, then Track again."
        note += actions.click_note(s)
        image = actions.frame_view(s)
        out = {
            w.state: s,
            w.frame_image: image,
            w.legend: legend_html(s.objects, s.active, frames),
            w.objects_dd: gr.update(choices=[(f"{o.id} · {o.name}", o.id) for o in s.objects], value=s.active),
            w.obj_name: obj.name if obj else "",
            w.status: note,
        }
        if with_editor:  # the Brush tab shows the same frame, strokes cleared
            out[w.editor] = None if image is None else {"background": image, "layers": [], "composite": image}
        return out

    def click_view(self, s: AppState) -> dict:
        """The view plus the last click's candidate masks (SAM gives three for one click), if several."""
        scores = s.clicks.candidates(s.frame, s.active)
        best = s.clicks.last_prediction.best if len(scores) > 1 else None
        choices = [(f"{i + 1} · {score:.2f}", i) for i, score in enumerate(scores)]
        return {**self.view(s), self.w.candidates: gr.update(choices=choices, value=best, visible=len(scores) > 1)}

    def results(self, s: AppState) -> dict:
        w, r = self.w, s.result
        buttons = {"masks_zip": w.dl_masks, "overlay": w.dl_overlay, "objects_zip": w.dl_objects, "bundle_zip": w.dl_bundle}
        labels = download_labels(r)
        out = {
            button: gr.update(value=getattr(r, key, None) if r else None, interactive=r is not None, label=labels[key])
            for key, button in buttons.items()
        }
        if r is None:  # e.g. a new clip: no old sizes on the disabled buttons
            return {**out, w.result_video: None, w.result_info: ""}
        info = (
            f"{'Stopped early: ' if r.stopped else ''}{r.frames_done} frames ({r.first}–{r.last}) in "
            f"{r.seconds:.1f} s, {r.frames_done / max(r.seconds, 1e-6):.1f} FPS."
        )
        return {**out, w.result_video: r.overlay, w.result_info: info}

    def after_clip(self, s: AppState) -> dict:
        w, n = self.w, s.clip.num_frames
        return {
            **self.view(s, with_editor=True),
            **self.results(s),
            w.clip_info: s.clip.describe(),
            w.frame_slider: gr.update(minimum=0, maximum=max(n - 1, 1), value=0, interactive=n > 1),
            w.first: gr.update(value=0, maximum=n - 1),
            w.last: gr.update(value=n - 1, maximum=n - 1),
            w.preview: None,
            w.memory_plot: memory_figure([], n),
            w.progress: progress_html("ready", 0, n, note="Click the object, then press Track."),
        }


def wire_clip(demo: gr.Blocks, w: Widgets, views: Views) -> None:
    """Loading a clip: the bundled example when the page opens, *Load example*, an upload."""
    loading = dict(concurrency_id="clip-load", concurrency_limit=CLIP_LOAD_WORKERS)

    @visitor_errors
    def on_load_example(s: AppState, name: str, request: gr.Request):
        ensure_session_dir(s, request.session_hash)
        actions.load_example(s, name)
        return views.after_clip(s)

    @visitor_errors
    def on_upload(s: AppState, path: str | None, request: gr.Request):
        if path is None:  # the file was removed from the box
            return {w.state: s}
        ensure_session_dir(s, request.session_hash)
        actions.load_clip(s, path, Path(path).name)
        return views.after_clip(s)

    def on_page_load(s: AppState, name: str | None, request: gr.Request):
        """The page opens with the example chosen in the menu (the first bundled one) loaded;
        nothing without examples, or when this tab already holds a clip."""
        if not name or s.clip is not None:
            return {w.state: s}
        return on_load_example(s, name, request)

    outputs = views.clip_outputs
    w.load_example_btn.click(on_load_example, [w.state, w.example], outputs, api_name="load_example", **loading)
    w.upload.upload(on_upload, [w.state, w.upload], outputs, api_name="load_clip", **loading)
    demo.load(on_page_load, [w.state, w.example], outputs, api_visibility="private", **loading)


def wire_annotation(w: Widgets, views: Views) -> None:
    """The frame slider, clicks (point, box, API), candidates, undo, clear, mask upload, brush."""

    @visitor_errors
    def on_frame(s: AppState, index: float):
        actions.set_frame(s, index)
        return views.view(s, with_editor=True)

    @visitor_errors
    @gpu_task(CLICK_SECONDS)  # the click model runs on the GPU (ZeroGPU: app/gpu.py)
    def on_select(s: AppState, mode: str, evt: gr.SelectData):
        x, y = evt.index[:2]
        if mode.startswith("box"):
            if not actions.add_display_box_corner(s, float(x), float(y)):
                return {**views.click_view(s), w.status: "Box: first corner set; click the opposite corner."}
            return views.click_view(s)
        actions.add_display_click(s, float(x), float(y), mode.startswith("include"))
        return views.click_view(s)

    @visitor_errors
    @gpu_task(CLICK_SECONDS)  # the click model runs on the GPU (ZeroGPU: app/gpu.py)
    def on_api_click(s: AppState, x: float, y: float, positive: bool):
        actions.add_click(s, float(x), float(y), bool(positive))
        return views.click_view(s)

    @visitor_errors
    def on_candidate(s: AppState, index):
        actions.choose_candidate(s, index)
        return views.click_view(s)

    @visitor_errors
    def on_undo(s: AppState):
        actions.undo_click(s)
        return views.click_view(s)

    @visitor_errors
    def on_brush(s: AppState, value: dict | None):
        actions.apply_brush(s, value)
        return views.view(s, with_editor=True)

    w.frame_slider.input(
        on_frame, [w.state, w.frame_slider], views.editor_outputs, api_name="set_frame", trigger_mode="always_last"
    )
    # Every click counts, in order: a click made while the previous one is still being
    # segmented is queued (trigger_mode="multiple"; Gradio's default "once" drops it); the
    # frame keeps taking clicks meanwhile (show_progress="minimal": the default "full"
    # covers the image with a loading overlay that swallows them); and clicks, undo,
    # candidate choice and clear share one queue with one worker, so they run one at a
    # time in the order they were made (they all change the same per-visitor state).
    annotate = dict(
        trigger_mode="multiple", concurrency_id="annotate", concurrency_limit=ANNOTATE_WORKERS, show_progress="minimal"
    )
    clicks = views.click_outputs
    w.frame_image.select(on_select, [w.state, w.click_mode], clicks, api_visibility="private", **annotate)
    w.api_click_btn.click(on_api_click, [w.state, w.api_x, w.api_y, w.api_positive], clicks, api_name="click", **annotate)
    w.undo_btn.click(on_undo, w.state, clicks, api_name="undo", **annotate)
    w.candidates.input(on_candidate, [w.state, w.candidates], clicks, api_name="choose_candidate", **annotate)
    w.clear_btn.click(
        state_action(actions.clear_frame, views), w.state, views.outputs, api_name="clear_frame", **annotate
    )
    w.mask_file.upload(
        state_action(actions.apply_mask_upload, views), [w.state, w.mask_file], views.outputs, api_name="upload_mask"
    )
    w.apply_brush_btn.click(on_brush, [w.state, w.editor], views.editor_outputs, api_name="apply_brush")
    w.brush_tab.select(
        lambda s: views.view(s, with_editor=True), w.state, views.editor_outputs, api_visibility="private"
    )


def state_action(fn: Callable[..., Any], views: Views) -> Callable[..., dict]:
    """A handler that applies `fn(state, *values)` and refreshes the view."""

    @visitor_errors
    def handler(s: AppState, *args):
        fn(s, *args)
        return views.view(s)

    return handler


def wire_objects(w: Widgets, views: Views) -> None:
    """Adding, choosing, renaming and removing objects."""
    outputs = views.outputs
    w.add_obj_btn.click(
        state_action(lambda s: actions.add_object(s), views), w.state, outputs, api_name="add_object"
    )
    w.objects_dd.input(
        state_action(actions.select_object, views), [w.state, w.objects_dd], outputs, api_name="select_object"
    )
    rename = state_action(actions.rename_object, views)
    w.obj_name.submit(rename, [w.state, w.obj_name], outputs, api_name="rename_object")
    w.obj_name.blur(rename, [w.state, w.obj_name], outputs, api_visibility="private")
    w.remove_obj_btn.click(state_action(actions.remove_object, views), w.state, outputs, api_name="remove_object")


def wire_tracking(w: Widgets, views: Views) -> None:
    """▶ Track (progress, preview, memory plot, results), its failure, and ■ Stop.

    /track takes (weights, device, working_size, first, last) and the memory settings by
    MemoryConfig field name (`inputs_kwargs`), so no list here repeats them.
    """

    @visitor_errors
    @gpu_task(track_request_duration)  # ZeroGPU: a GPU for this run (app/gpu.py)
    def on_track(s: AppState, weights, device, working_size, first, last, request: gr.Request, **memory):
        """memory: the Advanced accordion's memory settings by MemoryConfig field name."""
        if s.running:
            raise UserError("a run is already going in this tab: wait for it or press Stop")
        if s.clip is not None:
            ensure_session_dir(s, request.session_hash)
        try:
            settings = TrackSettings(
                weights, device, int(working_size), memory, int(first or 0), None if last is None else int(last)
            )
        except (TypeError, ValueError):
            raise UserError(
                f"settings must be whole numbers (processing resolution '{working_size}', "
                f"frame range '{first}'..'{last}')"
            ) from None
        s.running = True
        total = 0
        try:
            for u in run_tracking(s, settings):
                total = u.total
                out: dict = {w.state: s, w.progress: progress_html(u.phase, u.done, u.total, u.fps, u.eta_s, u.note)}
                if u.phase in ("forward", "backward", "done", "stopped"):
                    out[w.memory_plot] = memory_figure(u.trace, u.total)  # the run's range, both passes
                if u.preview is not None:
                    out[w.preview] = u.preview
                if u.phase in ("done", "stopped"):
                    out.update(views.results(s))
                    out.update(views.view(s))
                    out[w.banner_box] = weights_banner(weights)
                yield out
        except VISITOR_ERRORS as err:
            # The progress line says what went wrong (not "loading weights" forever); the
            # .failure() listener below then clears Gradio's error badges from the outputs.
            yield {w.progress: progress_html("failed", 0, total, note=f"Track failed: {err}")}
            raise
        finally:
            s.running = False

    def after_failed_track(s: AppState, weights: str, progress: str) -> dict:
        """A failed run leaves a usable page: every output refreshed (which removes the
        'Error' badges Gradio puts on them), the failure kept in the progress line, the
        banner saying what the chosen weights can do."""
        out = {**views.view(s), **views.results(s), w.progress: progress, w.banner_box: weights_banner(weights)}
        out[w.memory_plot] = memory_figure([], s.clip.num_frames if s.clip else None)
        out[w.preview] = None
        return out

    def on_stop(s: AppState) -> str:
        if s.running:
            s.stop_requested = True
            return progress_html("stopping…", 0, 0, note="Finishing the current frame, then writing what was done.")
        return gr.skip()

    # Outputs in a fixed order (gradio_client returns them in this order, the state left out).
    outputs = [
        w.progress, w.memory_plot, w.preview, w.result_video, w.result_info,
        w.dl_masks, w.dl_overlay, w.dl_objects, w.dl_bundle, w.banner_box, *views.outputs,
    ]  # fmt: skip
    track_event = w.track_btn.click(
        on_track,
        [w.state, w.weights, w.device, w.working, w.first, w.last],
        outputs,
        inputs_kwargs=w.memory,  # by name: MemoryConfig's field names
        api_name="track",
        concurrency_limit=MAX_CONCURRENT_RUNS,
        concurrency_id="track",
        show_progress="hidden",
    )
    track_event.failure(after_failed_track, [w.state, w.weights, w.progress], outputs, api_visibility="private")
    w.stop_btn.click(on_stop, w.state, w.progress, api_name="stop", queue=False)


def wire_weights(demo: gr.Blocks, w: Widgets) -> None:
    """The weights banner (page load, a new choice) and the official-weights download."""
    w.weights.change(weights_banner, w.weights, w.banner_box, api_visibility="private")
    demo.load(weights_banner, w.weights, w.banner_box, api_visibility="private")

    @visitor_errors
    def on_download(progress_bar=gr.Progress(track_tqdm=True)):
        blocker = download_blocker()
        if blocker is not None and not cached_path("xmem").exists():
            raise UserError(f"cannot download the official weights: {blocker}")
        download_official("xmem")
        return weights_banner("xmem"), gr.update(value="xmem")

    # A failed download: the message as a toast, then the banner and the weights menu are
    # refreshed (never left under an 'Error' badge).
    w.download_btn.click(on_download, None, [w.banner_box, w.weights], api_name="download_weights").failure(
        lambda name: (weights_banner(name), name), w.weights, [w.banner_box, w.weights], api_visibility="private"
    )


def wire_click_model(demo: gr.Blocks, w: Widgets) -> None:
    """The click-model line, and fetching the SAM 2.1 weights (button, or on first use)."""

    def on_click_model_download():
        """Fetch the SAM 2.1 weights; the click-model line shows how far it is (the console too)."""
        for p in download_progress():
            if p.error:
                yield f"Click-to-mask: **GrabCut (offline fallback)**: {p.line()}", gr.update()
                return
            if p.finished:
                yield click_model_line(choose_segmenter()), gr.update(visible=False)
                return
            yield p.line() + "; clicks use GrabCut until then.", gr.update()

    def on_page_load():
        """First use: fetch the SAM 2.1 weights if they can be had (never when XMEM_DEMO_OFFLINE=1)."""
        choice = resolve_click_model()
        if choice.checkpoint is None and sam2_installed() and not offline() and requested_model() != "grabcut":
            yield from on_click_model_download()
        else:
            yield click_model_line(choose_segmenter()), gr.update()

    outputs = [w.click_method, w.sam_btn]
    w.sam_btn.click(on_click_model_download, None, outputs, api_name="download_click_model")
    demo.load(on_page_load, None, outputs, api_visibility="private")


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
                w = build_layout()
            with gr.Tab("Live (camera)", id="live-main", elem_id="live-tab"):
                build_live_tab(demo, w.weights)
        views = Views(w)
        wire_clip(demo, w, views)
        wire_annotation(w, views)
        wire_objects(w, views)
        wire_tracking(w, views)
        wire_weights(demo, w)
        wire_click_model(demo, w)
        demo.unload(remove_visitor_files)
    demo.queue(default_concurrency_limit=8)
    return demo


def launch_options() -> dict[str, Any]:
    """Arguments for demo.launch() (Gradio 6 takes css and theme there)."""
    return {"css": CSS + LIVE_CSS, "theme": theme(), "max_file_size": MAX_UPLOAD}
