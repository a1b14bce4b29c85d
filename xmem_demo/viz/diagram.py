"""One picture of XMem (Cheng & Schwing, ECCV 2022, Fig. 2) with the paper's symbols, drawn
by the kit so that every notebook shows the same diagram with its own part highlighted.

    viz.architecture_figure(highlight="working")   # notebook 3's part in colour, the rest grey

Parts (the names `highlight` takes): "query" (the key encoder: query key q, selection e; a
memory frame's key k and shrinkage s), "readout" (affinity W and readout, Eq. 1-3),
"sensory", "working", "long_term" (the three memory tiers), "decoder", "value" (the value
encoder, which writes memory). Boxes are placed on a fixed grid; arrows carry what flows.
"""

from __future__ import annotations

from typing import Iterable

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ._common import LONG_TERM_COLOR, SENSORY_COLOR, WORKING_COLOR, png_bytes

PARTS = ("query", "readout", "sensory", "working", "long_term", "decoder", "value")
_NETWORK_COLOR = "#7f7f7f"
_INPUT_COLOR = "#9467bd"

# name: (x, y, width, height, colour, title, body) in axes units: x in [0, 1.5], y in [0, 1].
# Middle row: the path of one frame. Bottom row: what is written to memory. Top: sensory memory.
_BOXES: dict[str, tuple[float, float, float, float, str, str, str]] = {
    "frame": (0.00, 0.42, 0.13, 0.20, _INPUT_COLOR, "frame $I_t$", "RGB"),
    "query": (0.19, 0.40, 0.28, 0.24, _NETWORK_COLOR, "key (query) encoder",
              "query key $q$ ($C^k$ per cell), selection $e$\nmemory frames: key $k$, shrinkage $s$\none cell per 16 x 16 patch ($HW$ cells)"),
    "readout": (0.55, 0.40, 0.30, 0.24, _NETWORK_COLOR, "memory readout (Eq. 1-3)",
                "$S_{ij} = -s_i \\sum_c e_{cj}(k_{ci}-q_{cj})^2 / \\sqrt{C^k}$\n$W$ = softmax over each query's top $k$\nreadout $F = v\\,W$"),
    "decoder": (0.95, 0.40, 0.22, 0.24, _NETWORK_COLOR, "decoder", "$F$, sensory $h$, skips\n-> mask, new $h$"),
    "mask": (1.27, 0.42, 0.13, 0.20, _INPUT_COLOR, "mask $M_t$", "per object"),
    "sensory": (0.91, 0.76, 0.30, 0.22, SENSORY_COLOR, "sensory memory $h$",
                "$C^h$ channels x $HW$ cells, per object\nupdated every frame (a GRU)"),
    "long_term": (0.00, 0.02, 0.36, 0.24, LONG_TERM_COLOR, "long-term memory",
                  "<= $L_{max}$ prototypes, $P$ per consolidation\nchosen by usage, values potentiated\nleast used forgotten when full"),
    "working": (0.48, 0.02, 0.34, 0.24, WORKING_COLOR, "working memory",
                "$k, s, v$ of $T_{min}$ to $T_{max}$ frames\n$HW$ elements per frame"),
    "value": (0.95, 0.02, 0.30, 0.24, _NETWORK_COLOR, "value encoder",
              "($I_t$, $M_t$, $h$) -> value $v$ ($C^v$)\nevery $r$ frames; deep update of $h$"),
}

# (from, to, label, the part the arrow belongs to, x offset of both ends)
_ARROWS: list[tuple[str, str, str, str, float]] = [
    ("frame", "query", "", "query", 0.0),
    ("query", "readout", "$q$, $e$", "readout", 0.0),
    ("readout", "decoder", "$F$", "decoder", 0.0),
    ("decoder", "mask", "", "decoder", 0.0),
    ("working", "readout", "$k, s, v$", "readout", 0.0),
    ("long_term", "readout", "$k, s, v$", "readout", 0.0),
    ("sensory", "decoder", "$h$", "sensory", -0.05),
    ("decoder", "sensory", "new $h$", "sensory", 0.05),
    ("mask", "value", "$M_t$", "value", 0.0),
    ("value", "working", "every $r$ frames", "working", 0.0),
    ("working", "long_term", "at $T_{max}$ frames:\nconsolidate", "long_term", 0.0),
]


def _anchor(name: str, toward: str, shift: float = 0.0) -> tuple[float, float]:
    """Where an arrow from box `name` toward box `toward` leaves it: top/bottom across rows, else a side."""
    x, y, w, h = _BOXES[name][:4]
    tx, ty, tw, th = _BOXES[toward][:4]
    cx, cy, tcx, tcy = x + w / 2, y + h / 2, tx + tw / 2, ty + th / 2
    if abs(tcy - cy) > 0.2:  # another row: through the top or the bottom, as near the other box as fits
        px = min(max(tcx, x + 0.05), x + w - 0.05) + shift
        return px, (y + h if tcy > cy else y)
    return (x + w if tcx > cx else x), cy


class DiagramFigure(Figure):
    """A Figure that shows itself in a notebook as a 64-colour PNG: line art needs no more, and the
    committed notebooks, which each carry the diagram, stay small (about a third of the bytes)."""

    COLORS = 64

    def png(self) -> bytes:
        return png_bytes(self, colors=self.COLORS)

    def _ipython_display_(self) -> None:
        from IPython.display import Image, display

        display(Image(data=self.png()))


def architecture_figure(highlight: str | Iterable[str] | None = None, width: float = 11.0,
                        title: str | None = None) -> Figure:
    """XMem's parts and what flows between them; `highlight` (a part or several, see PARTS) is drawn
    in colour and the rest in grey. None: everything in colour."""
    chosen = {highlight} if isinstance(highlight, str) else set(highlight or PARTS)
    unknown = chosen - set(PARTS)
    if unknown:
        raise ValueError(f"unknown part(s) {sorted(unknown)}: choose from {', '.join(PARTS)}")
    fig = DiagramFigure(figsize=(width, width * 0.5), layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlim(-0.02, 1.42)
    ax.set_ylim(-0.02, 1.02)
    ax.axis("off")

    def lit(part: str) -> bool:
        return part in chosen or part in ("frame", "mask")

    for name, (x, y, w, h, colour, head, body) in _BOXES.items():
        on = lit(name)
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.008,rounding_size=0.02",
                                    facecolor=colour if on else "#eeeeee", alpha=0.18 if on else 1.0,
                                    edgecolor=colour if on else "#bbbbbb", linewidth=2.2 if name in chosen else 1.0))
        text_colour = "black" if on else "#999999"
        ax.text(x + w / 2, y + h - 0.03, head, ha="center", va="top", fontsize=10, weight="bold", color=text_colour)
        ax.text(x + w / 2, y + h / 2 - 0.03, body, ha="center", va="center", fontsize=8, color=text_colour)
    for start, end, label, part, shift in _ARROWS:
        on = part in chosen
        a, b = _anchor(start, end, shift), _anchor(end, start, shift)
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=12, linewidth=1.6 if on else 0.9,
                                     color="black" if on else "#bbbbbb", shrinkA=1, shrinkB=1))
        if label:
            horizontal = abs(a[1] - b[1]) < 1e-6
            ax.text((a[0] + b[0]) / 2 + (0.0 if horizontal else 0.012 if shift >= 0 else -0.012),
                    (a[1] + b[1]) / 2 + (0.035 if horizontal else 0.0), label, fontsize=7.5,
                    ha="center" if horizontal else ("left" if shift >= 0 else "right"), va="bottom" if horizontal else "center",
                    color="black" if on else "#aaaaaa")
    ax.set_title(title or "XMem (Cheng & Schwing, ECCV 2022): one frame's step", fontsize=11)
    return fig


__all__ = ["PARTS", "DiagramFigure", "architecture_figure"]
