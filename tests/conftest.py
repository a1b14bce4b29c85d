"""Shared fixtures: the golden reference data (../shared/golden) and small models."""

from __future__ import annotations

import hashlib
import lzma
import os
import shutil
from pathlib import Path

import pytest

# Fixture modules every test can use without importing them (app clips, weights and servers;
# the SAM 2.1 click model): pytest loads them once as plugins.
pytest_plugins = ("tests.app_fixtures", "tests.click_fixtures")

REPO = Path(__file__).resolve().parents[1]
GOLDEN_DIR = Path(os.environ.get("XMEM_GOLDEN_DIR", REPO.parent / "shared" / "golden" / "xmem-judo"))
GOLDEN_SHA256 = "81e583974e4a239e5dadf0590ff7e490e25aec8b2bdb26854088db3b48b5eb3d"


GOLDEN_SKIP = "golden data not found"
CHECK_YOURSELF = "python -m benchmarks.official_compare --official /path/to/XMem (a checkout of hkchengrex/XMem)"


def _require_golden() -> Path:
    if not (GOLDEN_DIR / "golden.npz").exists():
        msg = f"{GOLDEN_SKIP} at {GOLDEN_DIR} (set XMEM_GOLDEN_DIR)"
        if os.environ.get("CI"):
            pytest.fail(msg)  # CI always has ../shared: never skip silently there
        pytest.skip(msg)
    return GOLDEN_DIR


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    return _require_golden()


@pytest.fixture(scope="session")
def golden_weights(golden_dir: Path, tmp_path_factory) -> Path:
    """The golden checkpoint, decompressed once per test session and checked by sha256."""
    out = tmp_path_factory.mktemp("golden") / "weights.pth"
    digest = hashlib.sha256()
    with lzma.open(golden_dir / "weights.pth.xz") as src, open(out, "wb") as dst:
        while chunk := src.read(1 << 22):
            digest.update(chunk)
            dst.write(chunk)
    assert digest.hexdigest() == GOLDEN_SHA256, "golden weights.pth.xz does not decompress to the documented file"
    return out


@pytest.fixture()
def scratch(tmp_path: Path) -> Path:
    yield tmp_path
    shutil.rmtree(tmp_path, ignore_errors=True)


TINY = dict(key_dim=16, value_dim=16, hidden_dim=8, key_width=8, key_blocks=(1, 1, 1),
            value_width=8, value_blocks=(1, 1, 1), decoder_dims=(16, 16))


@pytest.fixture(scope="session")
def tiny_model():
    """A randomly initialised, very small XMem (fast on CPU; its outputs mean nothing)."""
    import torch

    from xmem_demo import ModelConfig, XMem

    torch.manual_seed(0)
    return XMem(ModelConfig(**TINY)).eval()


def golden_skips(terminalreporter) -> int:
    """How many tests of this session were skipped for want of the golden data."""
    return sum(1 for rep in terminalreporter.stats.get("skipped", []) if GOLDEN_SKIP in str(rep.longrepr))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """A skipped golden test is loud: the faithfulness proof did not run, and here is how to run one."""
    skipped = golden_skips(terminalreporter)
    if not skipped:
        return
    terminalreporter.write_sep("!", "FAITHFULNESS TO THE OFFICIAL XMEM WAS NOT CHECKED", red=True, bold=True)
    terminalreporter.write_line(
        f"{skipped} golden test{'s were' if skipped != 1 else ' was'} skipped: {GOLDEN_SKIP} at {GOLDEN_DIR} "
        "(set XMEM_GOLDEN_DIR).",
        red=True, bold=True,
    )
    terminalreporter.write_line(f"Compare with the official code yourself: {CHECK_YOURSELF}", red=True, bold=True)
