"""The Live tab: the browser's camera tracked frame by frame. `layout` makes the components,
`events` wires them; the visitor's state (`state.LiveSession`) needs no Gradio."""
