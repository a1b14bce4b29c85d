"""The Clip tab's callbacks: what each control of layout.py triggers. The logic lives in
actions.py / tracking.py; this module maps controls to those functions and their results back
to components.

`wire` wires the tab one feature at a time (`wire_clip`, `wire_annotation`, `wire_objects`,
`wire_tracking`, `wire_weights`, `wire_click_model`); `Views` turns a visitor's `AppState` into
component updates for all of them.

Per-visitor data lives only in the `gr.State` (an `AppState`), created per tab and cleaned
(with the visitor's temporary folder) when the tab closes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import gradio as gr

from ...clicks import choose_segmenter, resolve_click_model, sam2_installed
from ...clicks.choose import requested_model
from ...clicks.download import download_progress, sam_weights_url
from ...errors import UserError
from ...weights import cached_path, download_official
from . import actions, uploads
from ..gpu import CLICK_SECONDS, gpu_task, track_request_duration
from .layout import DOWNLOAD_WEIGHTS_LABEL, Widgets, click_model_line
from ..limits import MAX_CONCURRENT_RUNS
from ..models import banner, download_blocker, recent_download_blocker
from ..visitor_errors import VISITOR_ERRORS, visitor_errors
from .plots import memory_figure
from ..render import banner_html, legend_html, progress_html
from .state import AppState, ensure_session_dir
from .tracking import TrackSettings, restore_kept, run_tracking

# Click, undo and clear events run one at a time (all visitors together) so that one visitor's
# rapid clicks are applied in order to their state; a click takes ~0.1-0.5 s of click-to-mask.
ANNOTATE_WORKERS = 1

# Loading a clip (the example when the page opens, *Load example*, an upload) runs in one
# queue, one at a time, so a visitor's early click on *Load example*, or an upload, is applied
# after the page's own example load and never overwritten by it. A load only opens the file
# and decodes its first frame (the bundled example: see docs/app.md for the time it takes).
CLIP_LOAD_WORKERS = 1

# The events that change a visitor's annotation (see wire_annotation): every one counts, in
# order, one at a time, and none covers the frame with a loading overlay.
ANNOTATE_EVENT = dict(
    trigger_mode="multiple", concurrency_id="annotate", concurrency_limit=ANNOTATE_WORKERS, show_progress="minimal"
)

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


def short_reason(blocker: str) -> str:
    """A download blocker in a few words for a button label."""
    return "downloads are switched off" if "XMEM_DEMO_OFFLINE" in blocker else "no connection"


def result_line(r, kept=None) -> str:
    """What the result is and what it cost: tracking, writing, and the whole wait (from Track
    pressed to the downloads ready, which is what the visitor's clock says)."""
    fps = r.frames_done / max(r.seconds, 1e-6)
    line = (
        f"{'Stopped early: ' if r.stopped else ''}{r.frames_done} frames ({r.first}–{r.last}) tracked in "
        f"{r.seconds:.1f} s ({fps:.1f} FPS), results written in {r.write_seconds:.1f} s: "
        f"**{r.total_seconds:.1f} s in all**."
    )
    if kept is not None:
        line += (
            f" The complete result of the run before ({kept.frames_done} frames, {kept.first}–{kept.last}) is kept: "
            "the button below brings it back; it goes when a later run completes."
        )
    return line


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
            w.result_video, w.result_info, w.dl_masks, w.dl_overlay, w.dl_objects, w.dl_bundle, w.upload,
            w.restore_btn,
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
            w.legend: legend_html(s.objects, s.active, frames, s.palette),
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

    def results(self, s: AppState, hide: str = "") -> dict:
        """The result video, its downloads and its line; `hide`: show none of them, with this
        line instead (a run is going: the previous run's video and sizes are not shown)."""
        w, r = self.w, (None if hide else s.result)
        buttons = {"masks_zip": w.dl_masks, "overlay": w.dl_overlay, "objects_zip": w.dl_objects, "bundle_zip": w.dl_bundle}
        labels = download_labels(r)
        out = {
            button: gr.update(value=getattr(r, key, None) if r else None, interactive=r is not None, label=labels[key])
            for key, button in buttons.items()
        }
        kept = None if hide else s.kept
        out[w.restore_btn] = gr.update(
            visible=kept is not None,
            value=f"↩ Go back to the complete result (frames {kept.first}–{kept.last})" if kept else None,
        )
        if r is None:  # a run going, or a new clip: no old video, no old sizes on the disabled buttons
            return {**out, w.result_video: None, w.result_info: hide}
        return {**out, w.result_video: r.overlay, w.result_info: result_line(r, kept)}

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
            w.upload: None,  # the box is ready for another file (no × to click first)
        }

    def after_failed_load(self, s: AppState) -> dict:
        """A refused clip: the page as it was (the clip before, if any), every output refreshed,
        which removes the red 'Error' badges Gradio puts on them; the upload box emptied for
        the next file. The toast said what was wrong."""
        if s.clip is None:
            return {self.w.state: s, self.w.upload: None}
        w = self.w
        unchanged = {c: gr.update() for c in (w.frame_slider, w.first, w.last, w.preview, w.memory_plot, w.progress)}
        return {**self.view(s, with_editor=True), **self.results(s), **unchanged, w.clip_info: s.clip.describe(), w.upload: None}


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
        uploads.handle(path, lambda: actions.load_clip(s, path, Path(path).name))  # refused: deleted at once
        return views.after_clip(s)

    def on_page_load(s: AppState, name: str | None, request: gr.Request):
        """The page opens with the example chosen in the menu (the first bundled one) loaded;
        nothing without examples, or when this tab already holds a clip."""
        if not name or s.clip is not None:
            return {w.state: s}
        return on_load_example(s, name, request)

    outputs = views.clip_outputs
    refresh = dict(fn=views.after_failed_load, inputs=w.state, outputs=outputs, api_visibility="private")
    w.load_example_btn.click(
        on_load_example, [w.state, w.example], outputs, api_name="load_example", **loading
    ).failure(**refresh)
    w.upload.upload(on_upload, [w.state, w.upload], outputs, api_name="load_clip", **loading).failure(**refresh)
    demo.load(on_page_load, [w.state, w.example], outputs, api_visibility="private", **loading)

    def on_range(s: AppState, first, last):
        """The idle progress line counts the frames the range holds (not the whole clip)."""
        if s.running or s.clip is None:
            return gr.skip()
        try:
            count = int(last) - int(first) + 1
        except (TypeError, ValueError):
            return gr.skip()
        note = "Click the object, then press Track." if count > 0 else "The last frame comes before the first."
        return progress_html("ready", 0, max(count, 0), note=note)

    for box in (w.first, w.last):
        box.change(on_range, [w.state, w.first, w.last], w.progress, api_visibility="private", show_progress="hidden")


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
    annotate = ANNOTATE_EVENT
    clicks = views.click_outputs
    w.frame_image.select(on_select, [w.state, w.click_mode], clicks, api_visibility="private", **annotate)
    w.api_click_btn.click(on_api_click, [w.state, w.api_x, w.api_y, w.api_positive], clicks, api_name="click", **annotate)
    w.undo_btn.click(on_undo, w.state, clicks, api_name="undo", **annotate)
    w.candidates.input(on_candidate, [w.state, w.candidates], clicks, api_name="choose_candidate", **annotate)
    w.clear_btn.click(
        state_action(actions.clear_frame, views), w.state, views.outputs, api_name="clear_frame", **annotate
    )
    def mask_upload(s: AppState, path: str | None) -> None:
        uploads.handle(path, lambda: actions.apply_mask_upload(s, path))  # refused: deleted at once

    w.mask_file.upload(
        state_action(mask_upload, views), [w.state, w.mask_file], views.outputs, api_name="upload_mask"
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
    """Adding, choosing, renaming and removing objects.

    These events share the clicks' queue and never cover the frame with a loading overlay:
    leaving the "Active object" menu or the name box (Tab from the frame range opens the
    menu; a click on the frame closes it) fires select_object / rename as the visitor's next
    click lands on the frame, and with Gradio's default overlay that click hit the overlay
    and was lost (issue 25). In the one queue, the click is applied after them, in order.
    """
    outputs = views.outputs
    objects = dict(ANNOTATE_EVENT, trigger_mode="always_last")
    w.add_obj_btn.click(
        state_action(lambda s: actions.add_object(s), views), w.state, outputs, api_name="add_object", **ANNOTATE_EVENT
    )
    w.objects_dd.input(
        state_action(actions.select_object, views), [w.state, w.objects_dd], outputs, api_name="select_object", **objects
    )
    rename = state_action(actions.rename_object, views)
    w.obj_name.submit(rename, [w.state, w.obj_name], outputs, api_name="rename_object", **objects)
    w.obj_name.blur(rename, [w.state, w.obj_name], outputs, api_visibility="private", **objects)
    w.remove_obj_btn.click(
        state_action(actions.remove_object, views), w.state, outputs, api_name="remove_object", **ANNOTATE_EVENT
    )


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
            for n, u in enumerate(run_tracking(s, settings)):
                total = u.total
                progress = progress_html(u.phase, u.done, u.total, u.fps, u.eta_s, u.note, u.elapsed_s)
                out: dict = {w.state: s, w.progress: progress}
                if n == 0:  # nothing of the previous run on screen while this one goes
                    before = " (the previous one is replaced when this run completes)" if s.result else ""
                    out.update(views.results(s, hide=f"Tracking… the result appears here when written{before}."))
                    out[w.preview] = None
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
            sentence, _, details = str(err).partition("; ")  # the rest (URLs, paths, hints) folded
            yield {w.progress: progress_html("failed", 0, total, note=f"Track failed: {sentence}.", details=details)}
            raise
        finally:
            s.running = False

    def after_failed_track(s: AppState, weights: str, progress: str) -> dict:
        """A failed run leaves a usable page: every output refreshed (which removes the
        'Error' badges Gradio puts on them), the failure kept in the progress line, the
        banner saying what the chosen weights can do."""
        out = {**views.view(s), **views.results(s), w.progress: progress, w.banner_box: weights_banner(weights)}
        # (results(s): the previous result, hidden while the run went, is back)
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
        w.dl_masks, w.dl_overlay, w.dl_objects, w.dl_bundle, w.banner_box, *views.outputs, w.restore_btn,
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

    @visitor_errors
    def on_restore(s: AppState):
        restore_kept(s)
        return {**views.results(s), **views.view(s)}

    w.restore_btn.click(
        on_restore, w.state, outputs[3:9] + [*views.outputs, w.restore_btn], api_name="restore_result"
    )


def wire_weights(demo: gr.Blocks, w: Widgets) -> None:
    """The weights banner (page load, a new choice) and the official-weights download."""
    w.weights.change(weights_banner, w.weights, w.banner_box, api_visibility="private")
    demo.load(weights_banner, w.weights, w.banner_box, api_visibility="private")

    def download_button():
        """Off, saying why, where the download cannot work (offline): not a button that fails
        after seconds (issue 25)."""
        if cached_path("xmem").exists():
            return gr.update(interactive=False, value="Official XMem weights: already downloaded")
        blocker = recent_download_blocker()
        if blocker is not None:
            return gr.update(interactive=False, value=f"Official XMem weights: no download here ({short_reason(blocker)})")
        return gr.update(interactive=True, value=DOWNLOAD_WEIGHTS_LABEL)

    demo.load(download_button, None, w.download_btn, api_visibility="private")

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
        """Fetch the SAM 2.1 weights; the click-model line shows how far it is (the console too).
        A failure is one sentence, its details folded, and the button goes (it would only fail again)."""
        for p in download_progress():
            if p.error:
                problem = f"The SAM 2.1 download failed: {p.line()}"
                yield click_model_line(choose_segmenter(), problem), gr.update(visible=False)
                return
            if p.finished:
                yield click_model_line(choose_segmenter()), gr.update(visible=False)
                return
            yield p.line() + "; clicks use GrabCut until then.", gr.update()

    def on_page_load():
        """First use: fetch the SAM 2.1 weights if they can be had (never when XMEM_DEMO_OFFLINE=1,
        nor when its host cannot be reached: then the line says so at once, without the button)."""
        choice = resolve_click_model()
        if choice.checkpoint is None and sam2_installed() and requested_model() != "grabcut":
            blocker = recent_download_blocker(sam_weights_url())
            if blocker is None:
                yield from on_click_model_download()
                return
            problem = f"{choice.reason}, and they cannot be downloaded here: {blocker}."
            yield click_model_line(choose_segmenter(), problem), gr.update(visible=False)
        else:
            yield click_model_line(choose_segmenter()), gr.update()

    outputs = [w.click_method, w.sam_btn]
    w.sam_btn.click(on_click_model_download, None, outputs, api_name="download_click_model")
    demo.load(on_page_load, None, outputs, api_visibility="private")


def wire(demo: gr.Blocks, w: Widgets) -> None:
    """The Clip tab's callbacks, one feature at a time."""
    views = Views(w)
    wire_clip(demo, w, views)
    wire_annotation(w, views)
    wire_objects(w, views)
    wire_tracking(w, views)
    wire_weights(demo, w)
    wire_click_model(demo, w)
