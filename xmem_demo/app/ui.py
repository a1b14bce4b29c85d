"""The callbacks: what each control of layout.py triggers. The logic lives in actions.py /
tracking.py; this module maps controls to those functions and their results back to components.

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
from ..session import MaskError
from ..video import VideoError
from ..weights import WeightsError, cached_path, download_official, offline
from . import actions
from ..clicks import ClickModelError, choose_segmenter, resolve_click_model, sam2_installed
from ..clicks.choose import requested_model
from ..clicks.download import download_progress
from .janitor import start_janitor
from .limits import (
    CACHE_MAX_AGE_S,
    CACHE_SWEEP_EVERY_S,
    MAX_CONCURRENT_RUNS,
    MAX_UPLOAD,
)
from .models import banner, download_blocker
from .plots import memory_figure
from .render import banner_html, legend_html, progress_html
from .state import AppState, UserError, ensure_session_dir, remove_session_dir, session_dir_for
from .layout import build_layout, click_model_line
from .live import CSS as LIVE_CSS, build_live_tab

# Click, undo and clear events run one at a time (all visitors together) so that one visitor's
# rapid clicks are applied in order to their state; a click takes ~0.1-0.5 s of click-to-mask.
ANNOTATE_WORKERS = 1
from .styles import CSS, theme
from .gpu import CLICK_SECONDS, gpu_task, track_request_duration
from .tracking import TrackSettings, run_tracking

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

        view_outputs = w.view_outputs

        # ---- view helpers ------------------------------------------------------------------
        def view(s: AppState, with_editor: bool = False) -> dict:
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

        def results(s: AppState) -> dict:
            r = s.result
            buttons = {"masks_zip": w.dl_masks, "overlay": w.dl_overlay, "objects_zip": w.dl_objects,
                       "bundle_zip": w.dl_bundle}
            labels = download_labels(r)
            out = {
                button: gr.update(
                    value=getattr(r, key, None) if r else None, interactive=r is not None, label=labels[key]
                )
                for key, button in buttons.items()
            }
            if r is None:  # e.g. a new clip: no old sizes on the disabled buttons
                return {**out, w.result_video: None, w.result_info: ""}
            info = (
                f"{'Stopped early: ' if r.stopped else ''}{r.frames_done} frames ({r.first}–{r.last}) in "
                f"{r.seconds:.1f} s, {r.frames_done / max(r.seconds, 1e-6):.1f} FPS."
            )
            return {**out, w.result_video: r.overlay, w.result_info: info}

        # ---- clip --------------------------------------------------------------------------
        def after_clip(s: AppState) -> dict:
            n = s.clip.num_frames
            return {
                **view(s, with_editor=True),
                **results(s),
                w.clip_info: s.clip.describe(),
                w.frame_slider: gr.update(minimum=0, maximum=max(n - 1, 1), value=0, interactive=n > 1),
                w.first: gr.update(value=0, maximum=n - 1),
                w.last: gr.update(value=n - 1, maximum=n - 1),
                w.preview: None,
                w.memory_plot: memory_figure([], n),
                w.progress: progress_html("ready", 0, n, note="Click the object, then press Track."),
            }

        @visitor_errors
        def on_load_example(s: AppState, name: str, request: gr.Request):
            ensure_session_dir(s, request.session_hash)
            actions.load_example(s, name)
            return after_clip(s)

        @visitor_errors
        def on_upload(s: AppState, path: str | None, request: gr.Request):
            if path is None:  # the file was removed from the box
                return {w.state: s}
            ensure_session_dir(s, request.session_hash)
            actions.load_clip(s, path, Path(path).name)
            return after_clip(s)

        clip_outputs = view_outputs + [
            w.editor,
            w.clip_info,
            w.frame_slider,
            w.first,
            w.last,
            w.preview,
            w.memory_plot,
            w.progress,
            w.result_video,
            w.result_info,
            w.dl_masks,
            w.dl_overlay,
            w.dl_objects,
            w.dl_bundle,
        ]
        w.load_example_btn.click(on_load_example, [w.state, w.example], clip_outputs, api_name="load_example")
        w.upload.upload(on_upload, [w.state, w.upload], clip_outputs, api_name="load_clip")

        # ---- frame, clicks, masks ----------------------------------------------------------
        @visitor_errors
        def on_frame(s: AppState, index: float):
            actions.set_frame(s, index)
            return view(s, with_editor=True)

        def candidates(s: AppState) -> dict:
            """The last click's candidate masks (SAM gives three for one click), if there are several."""
            scores = s.clicks.candidates(s.frame, s.active)
            best = s.clicks.last_prediction.best if len(scores) > 1 else None
            choices = [(f"{i + 1} · {score:.2f}", i) for i, score in enumerate(scores)]
            return {w.candidates: gr.update(choices=choices, value=best, visible=len(scores) > 1)}

        def click_view(s: AppState) -> dict:
            return {**view(s), **candidates(s)}

        @visitor_errors
        @gpu_task(CLICK_SECONDS)  # the click model runs on the GPU (ZeroGPU: app/gpu.py)
        def on_select(s: AppState, mode: str, evt: gr.SelectData):
            x, y = evt.index[:2]
            if mode.startswith("box"):
                if not actions.add_display_box_corner(s, float(x), float(y)):
                    return {**click_view(s), w.status: "Box: first corner set; click the opposite corner."}
                return click_view(s)
            actions.add_display_click(s, float(x), float(y), mode.startswith("include"))
            return click_view(s)

        @visitor_errors
        @gpu_task(CLICK_SECONDS)  # the click model runs on the GPU (ZeroGPU: app/gpu.py)
        def on_api_click(s: AppState, x: float, y: float, positive: bool):
            actions.add_click(s, float(x), float(y), bool(positive))
            return click_view(s)

        @visitor_errors
        def on_candidate(s: AppState, index):
            actions.choose_candidate(s, index)
            return click_view(s)

        @visitor_errors
        def on_undo(s: AppState):
            actions.undo_click(s)
            return click_view(s)

        def simple(fn: Callable[..., Any]) -> Callable[..., dict]:
            @visitor_errors
            def handler(s: AppState, *args):
                fn(s, *args)
                return view(s)

            return handler

        w.frame_slider.input(
            on_frame,
            [w.state, w.frame_slider],
            view_outputs + [w.editor],
            api_name="set_frame",
            trigger_mode="always_last",
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
        click_outputs = view_outputs + [w.candidates]
        w.frame_image.select(on_select, [w.state, w.click_mode], click_outputs, api_visibility="private", **annotate)
        w.api_click_btn.click(
            on_api_click, [w.state, w.api_x, w.api_y, w.api_positive], click_outputs, api_name="click", **annotate
        )
        w.undo_btn.click(on_undo, w.state, click_outputs, api_name="undo", **annotate)
        w.candidates.input(
            on_candidate, [w.state, w.candidates], click_outputs, api_name="choose_candidate", **annotate
        )
        w.clear_btn.click(simple(actions.clear_frame), w.state, view_outputs, api_name="clear_frame", **annotate)
        w.mask_file.upload(
            simple(actions.apply_mask_upload), [w.state, w.mask_file], view_outputs, api_name="upload_mask"
        )

        @visitor_errors
        def on_brush(s: AppState, value: dict | None):
            actions.apply_brush(s, value)
            return view(s, with_editor=True)

        w.apply_brush_btn.click(on_brush, [w.state, w.editor], view_outputs + [w.editor], api_name="apply_brush")
        w.brush_tab.select(
            lambda s: view(s, with_editor=True), w.state, view_outputs + [w.editor], api_visibility="private"
        )

        # ---- objects -----------------------------------------------------------------------
        w.add_obj_btn.click(simple(lambda s: actions.add_object(s)), w.state, view_outputs, api_name="add_object")
        w.objects_dd.input(
            simple(actions.select_object), [w.state, w.objects_dd], view_outputs, api_name="select_object"
        )
        w.obj_name.submit(simple(actions.rename_object), [w.state, w.obj_name], view_outputs, api_name="rename_object")
        w.obj_name.blur(simple(actions.rename_object), [w.state, w.obj_name], view_outputs, api_visibility="private")
        w.remove_obj_btn.click(simple(actions.remove_object), w.state, view_outputs, api_name="remove_object")

        # ---- tracking ----------------------------------------------------------------------
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
                    out: dict = {
                        w.state: s,
                        w.progress: progress_html(u.phase, u.done, u.total, u.fps, u.eta_s, u.note),
                    }
                    if u.phase in ("forward", "backward", "done", "stopped"):
                        out[w.memory_plot] = memory_figure(u.trace, u.total)  # the run's range, both passes
                    if u.preview is not None:
                        out[w.preview] = u.preview
                    if u.phase in ("done", "stopped"):
                        b = banner(weights)
                        out.update(results(s))
                        out.update(view(s))
                        out[w.banner_box] = banner_html(b.text, b.official, b.ok)
                    yield out
            except VISITOR_ERRORS as err:
                # The progress line says what went wrong (not "loading weights" forever); the
                # .failure() listener below then clears Gradio's error badges from the outputs.
                yield {w.progress: progress_html("failed", 0, total, note=f"Track failed: {err}")}
                raise
            finally:
                s.running = False

        # Outputs in a fixed order (gradio_client returns them in this order, the state left out).
        track_outputs = [
            w.progress,
            w.memory_plot,
            w.preview,
            w.result_video,
            w.result_info,
            w.dl_masks,
            w.dl_overlay,
            w.dl_objects,
            w.dl_bundle,
            w.banner_box,
            *view_outputs,
        ]
        track_event = w.track_btn.click(
            on_track,
            [w.state, w.weights, w.device, w.working, w.first, w.last],
            track_outputs,
            inputs_kwargs=w.memory,  # by name: MemoryConfig's field names
            api_name="track",
            concurrency_limit=MAX_CONCURRENT_RUNS,
            concurrency_id="track",
            show_progress="hidden",
        )

        def after_failed_track(s: AppState, weights: str, progress: str) -> dict:
            """A failed run leaves a usable page: every output refreshed (which removes the
            'Error' badges Gradio puts on them), the failure kept in the progress line, the
            banner saying what the chosen weights can do."""
            out = {**view(s), **results(s), w.progress: progress, w.banner_box: on_weights(weights)}
            out[w.memory_plot] = memory_figure([], s.clip.num_frames if s.clip else None)
            out[w.preview] = None
            return out

        track_event.failure(
            after_failed_track, [w.state, w.weights, w.progress], track_outputs, api_visibility="private"
        )

        def on_stop(s: AppState) -> str:
            if s.running:
                s.stop_requested = True
                return progress_html("stopping…", 0, 0, note="Finishing the current frame, then writing what was done.")
            return gr.skip()

        w.stop_btn.click(on_stop, w.state, w.progress, api_name="stop", queue=False)

        # ---- settings and weights ----------------------------------------------------------
        def on_weights(name: str) -> str:
            b = banner(name)
            return banner_html(b.text, b.official, b.ok)

        w.weights.change(on_weights, w.weights, w.banner_box, api_visibility="private")
        demo.load(on_weights, w.weights, w.banner_box, api_visibility="private")

        @visitor_errors
        def on_download(progress_bar=gr.Progress(track_tqdm=True)):
            blocker = download_blocker()
            if blocker is not None and not cached_path("xmem").exists():
                raise UserError(f"cannot download the official weights: {blocker}")
            download_official("xmem")
            return on_weights("xmem"), gr.update(value="xmem")

        # A failed download: the message as a toast, then the banner and the weights menu are
        # refreshed (never left under an 'Error' badge).
        w.download_btn.click(
            on_download, None, [w.banner_box, w.weights], api_name="download_weights"
        ).failure(lambda name: (on_weights(name), name), w.weights, [w.banner_box, w.weights], api_visibility="private")

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

        w.sam_btn.click(
            on_click_model_download, None, [w.click_method, w.sam_btn], api_name="download_click_model"
        )

        def on_page_load():
            """First use: fetch the SAM 2.1 weights if they can be had (never when XMEM_DEMO_OFFLINE=1)."""
            choice = resolve_click_model()
            if choice.checkpoint is None and sam2_installed() and not offline() and requested_model() != "grabcut":
                yield from on_click_model_download()
            else:
                yield click_model_line(choose_segmenter()), gr.update()

        demo.load(on_page_load, None, [w.click_method, w.sam_btn], api_visibility="private")

        def on_unload(request: gr.Request) -> None:
            remove_session_dir(session_dir_for(request.session_hash))

        demo.unload(on_unload)
    demo.queue(default_concurrency_limit=8)
    return demo


def launch_options() -> dict[str, Any]:
    """Arguments for demo.launch() (Gradio 6 takes css and theme there)."""
    return {"css": CSS + LIVE_CSS, "theme": theme(), "max_file_size": MAX_UPLOAD}
