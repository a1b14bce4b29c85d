"""Without the golden data the golden tests skip; the test summary must then say so loudly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_skipped_golden_tests_are_announced_in_the_summary(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CI"}  # in CI a missing golden dir fails instead
    env["XMEM_GOLDEN_DIR"] = str(tmp_path / "no-golden-here")
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_golden.py::test_intermediates_frame0"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    ).stdout
    assert "FAITHFULNESS TO THE OFFICIAL XMEM WAS NOT CHECKED" in out, out[-2000:]
    assert "golden test was skipped" in out and "benchmarks.official_compare" in out, out[-2000:]
