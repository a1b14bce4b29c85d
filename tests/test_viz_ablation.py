"""viz.ablation: the running mean of paired differences and its standard error, and the figure."""

from __future__ import annotations

import numpy as np
import pytest

from xmem_demo import viz


def test_running_mean_and_error_matches_numpy():
    d = np.array([0.3, -0.1, 0.2, 0.05, 0.4])
    n, mean, error = viz.running_mean_and_error(d)
    assert n.tolist() == [2, 3, 4, 5]
    for k, m, e in zip(n, mean, error):
        assert m == pytest.approx(d[:k].mean())
        assert e == pytest.approx(d[:k].std(ddof=1) / np.sqrt(k))


def test_too_few_differences_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 2"):
        viz.running_mean_and_error([0.1])
    with pytest.raises(ValueError, match="at least one"):
        viz.paired_difference_figure({})


def test_figure_draws_one_curve_and_band_per_ablation():
    fig = viz.paired_difference_figure({"a": [0.1, 0.2, 0.0, 0.3], "b": [-0.1, 0.0, -0.2]}, title="t")
    ax = fig.axes[0]
    curves = [line for line in ax.get_lines() if line.get_label() in ("a", "b")]
    assert len(curves) == 2
    assert len(ax.collections) == 2  # the two error bands
    assert list(curves[1].get_xdata()) == [2, 3]
