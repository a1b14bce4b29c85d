"""Each notebook opens on Colab (a badge) and installs the kit there on Colab's own torch; the
install cell is a no-op anywhere else (scripts/add_colab_cell.py wrote them)."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
sys.path.insert(0, str(REPO / "scripts"))
import add_colab_cell  # noqa: E402


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_first_cells_are_the_colab_badge_and_install(path, monkeypatch, tmp_path):
    nb = nbformat.read(path, as_version=4)
    badge, install = nb.cells[0], nb.cells[1]
    assert badge.cell_type == "markdown" and install.cell_type == "code"
    assert all(add_colab_cell.TAG in c.metadata.tags for c in (badge, install))
    assert sum(add_colab_cell.TAG in c.metadata.get("tags", []) for c in nb.cells) == 2  # once, first
    repo = add_colab_cell.repository_url().removeprefix("https://github.com/")
    assert f"colab.research.google.com/github/{repo}/blob/main/notebooks/{path.name})" in badge.source

    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append((a, k)))
    exec(install.source, {})  # not on Colab: nothing runs
    assert calls == []
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    exec(install.source, {})
    (argv,), kwargs = calls[0]
    assert argv[:4] == [sys.executable, "-m", "pip", "install"] and kwargs == {"check": True}
    constraint = Path(argv[argv.index("-c") + 1]).read_text()
    assert constraint == f"torch=={torch.__version__}\n"  # Colab's torch is kept as it is
    assert argv[-1] == f"xmem-demo[notebooks] @ git+{add_colab_cell.repository_url()}"
