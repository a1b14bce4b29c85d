"""The package's layering (docs/LAYOUT.md), checked on the source of every module: each module
or sub-package imports only from its own layer or the layers below, and no two of them import
each other, directly or round a loop. Imports inside functions count too: a lazy import that
runs up is still an arrow up."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import xmem_demo

PACKAGE = Path(xmem_demo.__file__).parent

# docs/LAYOUT.md's layers, bottom up. A sub-package is one unit (its files are its business);
# `__init__` is the package's face, which may hand on names from anywhere below it.
LAYERS = {
    # 1: plain facts, no project imports or only each other
    "errors": 1, "palette": 1, "limits": 1, "readahead": 1, "synthetic": 1, "config": 1, "geometry": 1,
    "hardware": 1, "resources": 1, "portable": 1, "threads": 1,
    # 2: data that crosses module boundaries, the network, reading and writing video
    "records": 2, "step_plan": 2, "model": 2, "video": 2,
    # 3: memory (Sec. 3 of the paper)
    "memory": 3,
    # 4: one video, its objects, which weights, input checks
    "record_builder": 4, "objects": 4, "session": 4, "checkpoint": 4, "weights": 4, "validate": 4, "masks": 4,
    "metrics": 4, "outdir": 4, "run_writer": 4,
    # 5: whole videos, figures, clicks, live tracking, lessons, datasets, training
    "pipeline": 5, "viz": 5, "clicks": 5, "live": 5, "lessons": 5, "label_propagation": 5,
    "batch": 5, "training": 5,
    # 6: the front ends
    "cli": 6, "app": 6, "__init__": 6, "__main__": 6,
}


def _unit(module: str) -> str:
    """xmem_demo.video.pillow -> video; xmem_demo -> __init__; a name of __init__ -> __init__."""
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    name = parts[1]
    exists = (PACKAGE / f"{name}.py").exists() or (PACKAGE / name / "__init__.py").exists()
    return name if exists else "__init__"  # `from . import __version__`


def _arrows() -> dict[tuple[str, str], list[str]]:
    """(importing unit, imported unit) -> the files that make the arrow."""
    arrows: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        here = parts[:-1] if parts[-1] == "__init__" else parts  # the module's own dotted name
        package = here if parts[-1] == "__init__" else here[:-1]  # what a relative import starts from
        source = _unit(".".join(here))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
                targets = [module] if node.module else [f"{module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                targets = [node.module or ""]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for target in targets:
                if target.split(".")[0] == "xmem_demo" and _unit(target) != source:
                    arrows[(source, _unit(target))].append(str(path.relative_to(PACKAGE.parent)))
    return arrows


def test_every_unit_has_a_layer():
    units = {_unit(".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)) for p in PACKAGE.rglob("*.py")}
    assert units - set(LAYERS) == set(), "place these in LAYERS (and in docs/LAYOUT.md)"


def test_no_import_runs_up_a_layer():
    up = {f"{a} (layer {LAYERS[a]}) -> {b} (layer {LAYERS[b]})": files
          for (a, b), files in _arrows().items() if a != "__init__" and LAYERS.get(b, 0) > LAYERS.get(a, 99)}
    assert up == {}, up


def test_no_circle_between_units():
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in _arrows():
        graph[a].add(b)
    done: set[str] = set()

    def visit(unit: str, path: list[str]) -> None:
        if unit in path:
            raise AssertionError("a circle of imports: " + " -> ".join(path[path.index(unit):] + [unit]))
        if unit in done:
            return
        for nxt in sorted(graph[unit]):
            visit(nxt, path + [unit])
        done.add(unit)

    for unit in sorted(graph):
        visit(unit, [])


def test_the_check_sees_an_arrow_up():
    """The checker itself: validate imports hardware (down), and no arrow runs from validate up to
    the session, the pipeline or a front end (one such arrow, a lazy import, was a circle once)."""
    arrows = _arrows()
    assert ("validate", "hardware") in arrows and ("session", "objects") in arrows
    assert not {("validate", u) for u in ("session", "pipeline", "cli", "app")} & set(arrows)
