"""scripts/setup_and_run.sh shows its progress and says truthfully what opens (python3 faked)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def fake_python(tmp_path) -> tuple[dict[str, str], Path]:
    """(env, log): an environment whose `python3` only appends its arguments to `log`, one call a
    line, so a script's python3 calls can be read back without installing or starting anything."""
    log = tmp_path / "calls.log"
    fake = tmp_path / "bin" / "python3"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}"}
    env.pop("XMEM_INSTALL_QUIET", None)
    return env, log


def test_setup_script_shows_progress_and_what_opens(fake_python):
    env, log = fake_python
    out = subprocess.run(["bash", str(REPO / "scripts" / "setup_and_run.sh"), "--port", "8080"], env=env,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    calls = log.read_text().splitlines()
    pip = [c for c in calls if c.startswith("-m pip install")]
    assert len(pip) == 3 and not any("--quiet" in c for c in pip)  # pip's own progress is shown
    assert calls[-1] == "app.py --port 8080"
    for step in ("step 1/2", "install 1/3", "install 2/3", "install 3/3", "installed in", "step 2/2"):
        assert step in out, step
    assert "opens with the bundled judo clip loaded" in out  # the page loads the example by itself


def test_install_script_stays_quiet_for_ci(fake_python):
    env, log = fake_python
    subprocess.run(["bash", str(REPO / "scripts" / "install.sh")], env=env, capture_output=True, timeout=120,
                   check=True)
    assert all("--quiet" in c for c in log.read_text().splitlines())
