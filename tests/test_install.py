"""A regular (non-editable) install carries its package data: the mini weights and the example clip.

The editable install used for development finds files through the repository, which hides a
package that forgets its data. This test builds the package from a copy of only what the
build reads (pyproject.toml, README.md, xmem_demo/), installs it with `pip install --no-deps
--target`, and runs `resolve_model("mini")` from another folder with that copy first on the path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

CHECK = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])
    import xmem_demo
    from xmem_demo.resources import EXAMPLE_CLIP, EXAMPLE_MASK, MODEL_CARD
    from xmem_demo.weights import resolve_model
    assert xmem_demo.__file__.startswith(sys.argv[1]), xmem_demo.__file__
    for path in (EXAMPLE_CLIP, EXAMPLE_MASK, MODEL_CARD):
        assert path.is_file() and str(path).startswith(sys.argv[1]), path
    model, info = resolve_model("mini", allow_download=False)
    assert "NOT the official XMem weights" in info.notice, info.notice
    assert str(info.path).startswith(sys.argv[1]), info.path
    print("installed-ok", sum(p.numel() for p in model.parameters()))
    """
)


@pytest.mark.slow
def test_regular_install_finds_mini_weights_and_example_clip(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "xmem_demo", src / "xmem_demo", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    target = tmp_path / "site"
    # --no-build-isolation: build with the setuptools already installed (no index needed).
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(src)],
        capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = subprocess.run(
        [sys.executable, "-c", CHECK, str(target)], cwd=elsewhere, capture_output=True, text=True, timeout=300,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert run.returncode == 0 and "installed-ok" in run.stdout, run.stdout + run.stderr


def test_importing_the_package_changes_no_process_wide_warning_filter():
    code = ("import warnings, torch; before = list(warnings.filters); import xmem_demo, xmem_demo.memory.fast_read, "
            "xmem_demo.pipeline, xmem_demo.viz; assert warnings.filters == before, set(warnings.filters) - set(before)")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
