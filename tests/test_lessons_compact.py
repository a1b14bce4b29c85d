"""lessons.compact_figures: figures shown as palette PNGs (smaller committed notebooks), same picture."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from xmem_demo import lessons

IPython = pytest.importorskip("IPython")


def _figure() -> Figure:
    fig = Figure(figsize=(6, 3))
    ax = fig.add_subplot()
    for k in range(4):
        ax.plot(np.sin(np.linspace(0, 6, 200) + k), label=f"curve {k}")
    ax.legend()
    return fig


def test_outside_ipython_it_does_nothing():
    assert IPython.get_ipython() is None
    assert lessons.compact_figures() is False


def test_figures_become_smaller_palette_pngs_of_the_same_picture(monkeypatch):
    from IPython.testing.globalipapp import get_ipython as start_shell

    shell = start_shell()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    formatter = shell.display_formatter.formatters["image/png"]
    monkeypatch.setattr(formatter, "enabled", True)  # the test shell shows text only; a kernel shows PNGs
    fig = _figure()
    rgba = io.BytesIO()
    fig.savefig(rgba, format="png", dpi=lessons.FIGURE_DPI, bbox_inches="tight", facecolor="white")
    try:
        assert lessons.compact_figures() is True
        png = formatter(fig)
    finally:
        formatter.pop(Figure, None)
    small, full = Image.open(io.BytesIO(png)), Image.open(rgba)
    assert small.mode == "P" and small.size == full.size
    assert len(png) < 0.6 * len(rgba.getvalue())
    # The same picture: mean absolute difference per channel under 2 of 255.
    diff = np.abs(np.asarray(small.convert("RGB"), float) - np.asarray(full.convert("RGB"), float))
    assert diff.mean() < 2.0
