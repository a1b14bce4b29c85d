"""The notebooks' name for four figures that live in `xmem_demo.viz` (the one home of figures).

Notebooks 03-05 call `lesson_figures.tiers_figure(...)` and the like; they are committed with
their outputs and re-executed as a set, so this name stays until they call `viz` directly.
Nothing else should import it.
"""

from .viz import long_video_memory_figure, sweep_figure, tiers_figure, working_memory_figure

__all__ = ["long_video_memory_figure", "sweep_figure", "tiers_figure", "working_memory_figure"]
