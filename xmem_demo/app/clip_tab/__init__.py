"""The Clip tab: a clip, its objects marked on any frame, tracked forward and backward, the
results downloaded. `layout` makes the components, `events` wires them; the visitor's state
(`state.AppState`) changes only through `actions` and `tracking`, which need no Gradio."""
