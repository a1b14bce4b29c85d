"""Look of the app: theme, CSS and the header (fonts are local: works offline)."""

from __future__ import annotations

import gradio as gr

HEADER = """
<div class="xm-header">
  <h1>XMem <span>long-term video object segmentation</span></h1>
  <p>Load a clip, click the object on any frame, press <b>Track</b>. XMem propagates the mask
  forward and backward with three memories (sensory, working, long-term) whose size you can
  watch live. Reimplementation of Cheng &amp; Schwing, <i>XMem</i>, ECCV 2022.</p>
</div>
"""

CSS = """
.gradio-container { max-width: 1380px !important; }
.xm-header h1 { margin: 0.2em 0 0.1em; font-size: 1.7em; }
.xm-header h1 span { font-weight: 400; color: var(--body-text-color-subdued); font-size: 0.7em; margin-left: 0.4em; }
.xm-header p { margin: 0 0 0.3em; color: var(--body-text-color-subdued); }
.xm-banner { padding: 0.55em 0.9em; border-radius: 8px; font-size: 0.92em; border: 1px solid; }
.xm-banner.xm-ok { background: #ecfdf3; border-color: #6ce9a6; color: #05603a; }
.xm-banner.xm-warn { background: #fffaeb; border-color: #fec84b; color: #93370d; }
.xm-banner.xm-error { background: #fef3f2; border-color: #fda29b; color: #912018; }
.xm-legend { display: flex; flex-wrap: wrap; gap: 0.35em 0.9em; font-size: 0.9em; }
.xm-obj { display: inline-flex; align-items: center; gap: 0.35em; padding: 0.15em 0.5em; border-radius: 6px; }
.xm-obj.active { outline: 2px solid var(--color-accent); }
.xm-swatch { width: 0.95em; height: 0.95em; border-radius: 3px; display: inline-block; border: 1px solid #0003; }
.xm-progress { font-size: 0.92em; }
.xm-progress-head { display: flex; justify-content: space-between; margin-bottom: 0.3em; }
.xm-bar { height: 10px; border-radius: 5px; background: var(--neutral-200); overflow: hidden; }
.xm-fill { height: 100%; background: var(--color-accent); transition: width 0.3s; }
.xm-note { margin-top: 0.3em; color: var(--body-text-color-subdued); }
.xm-details summary { cursor: pointer; }
.xm-details small { display: block; margin-top: 0.3em; color: var(--body-text-color-subdued); overflow-wrap: anywhere; }
/* The preview fills its box; the clickable frame is sized by the server (Gradio maps clicks
   assuming the browser only ever shrinks it). */
#preview img { object-fit: contain !important; width: 100% !important; height: 100% !important; }
#frame-image img { cursor: crosshair; }
"""


def theme() -> gr.themes.Base:
    return gr.themes.Soft(primary_hue="indigo", secondary_hue="slate")
