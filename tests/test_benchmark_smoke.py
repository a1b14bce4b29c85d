"""Smoke run of the long-video benchmark (benchmarks/long_video.py): memory stays bounded.

The real benchmark (10,000 frames, full-size network) is not a unit test. This runs the
same code path (one process per configuration, frames streamed in lock-step) for a few
hundred frames of a tiny synthetic clip with a tiny random network and scaled-down memory
bounds (T_min=2, T_max=4, P=8, L_max=64), so that long-term memory fills and forgetting
starts within the run. It fails if full XMem's memory keeps growing after long-term memory
is full, or if the long-term-disabled baseline does not grow.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks import long_video

FRAMES = 300
MEMORY = "min_mid_term_frames=2,max_mid_term_frames=4,num_prototypes=8,max_long_term_elements=64"


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "smoke"
    summary = long_video.main([
        "--frames", str(FRAMES), "--size", "32", "--source", "synthetic", "--weights", "tiny:0",
        "--configs", "full,no-lt", "--memory", MEMORY, "--threads", "1", "--ref-frame", "150",
        "--out", str(out), "--log-every", "0", "--csv-window", "25",
    ])
    return summary, out


def series(out, config: str, column: str) -> np.ndarray:
    rows = np.genfromtxt(out.with_suffix(".frames.csv"), delimiter=",", names=True, dtype=None, encoding="utf-8")
    return np.asarray(rows[rows["config"] == config][column], float)


@pytest.mark.timeout(120)
def test_full_xmem_memory_plateaus(smoke):
    summary, out = smoke
    full = summary["configs"]["full"]
    assert full["frames_run"] == FRAMES
    # Long-term memory filled up (forgetting kept it at L_max) well before the reference frame.
    assert full["long_term_elements_max"] == 64
    assert full["first_frame_at_long_term_max"] < 150
    # Working memory never exceeds T_max frames; tier bytes after the reference frame do not grow.
    working = series(out, "full", "working_elements")
    tier = series(out, "full", "tier_mb")
    assert working.max() <= 4 * working[0]
    assert tier[150:].max() <= tier[:150].max() * 1.01
    # Process memory: flat once the tiers are bounded (loose: allocator noise at this tiny scale).
    assert full["peak_rss_mb_final"] - full["peak_rss_mb_at_ref"] < 20


@pytest.mark.timeout(120)
def test_long_term_disabled_baseline_grows(smoke):
    summary, out = smoke
    stm = summary["configs"]["no-lt"]
    assert stm["long_term_elements_final"] == 0
    working = series(out, "no-lt", "working_elements")
    # One memory frame every r = 5 frames, never consolidated: linear growth.
    assert working[-1] >= 1.8 * working[150]
    assert series(out, "no-lt", "tier_mb")[-1] > 1.8 * series(out, "no-lt", "tier_mb")[150]


def test_outputs_written(smoke):
    summary, out = smoke
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved["configs"].keys() == {"full", "no-lt"}
    assert out.with_suffix(".csv").read_text().startswith("config,frame_start")
    assert out.with_suffix(".png").stat().st_size > 10_000
