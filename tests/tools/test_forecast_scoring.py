"""P10-P90 coverage and pinball loss: the scores the PV and load backtests report."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tools.forecast.scoring import interval_scores, pinball_loss


def test_pinball_is_asymmetric_by_tau() -> None:
    # actual 100: a forecast of 80 is 20 too low, one of 120 is 20 too high
    assert pinball_loss([100.0], [80.0], 0.1) == pytest.approx(0.1 * 20)
    assert pinball_loss([100.0], [120.0], 0.1) == pytest.approx(0.9 * 20)
    assert pinball_loss([100.0], [80.0], 0.9) == pytest.approx(0.9 * 20)
    assert pinball_loss([100.0], [120.0], 0.9) == pytest.approx(0.1 * 20)


def test_pinball_is_smallest_at_the_true_quantile() -> None:
    rng = np.random.default_rng(5)
    actual = rng.gamma(2.0, 500.0, 20_000)
    for tau in (0.1, 0.9):
        truth = float(np.quantile(actual, tau))
        best = pinball_loss(actual, np.full_like(actual, truth), tau)
        for factor in (0.7, 0.9, 1.1, 1.3):
            worse = pinball_loss(actual, np.full_like(actual, truth * factor), tau)
            assert worse > best


def test_interval_scores_count_the_band_and_skip_gaps() -> None:
    rng = np.random.default_rng(6)
    actual = rng.normal(1000.0, 100.0, 50_000)
    p10 = np.full_like(actual, 1000.0 - 128.155)  # the true 10 % / 90 % quantiles
    p90 = np.full_like(actual, 1000.0 + 128.155)
    scores = interval_scores(actual, p10, p90)
    assert scores["p10_p90_coverage_pct"] == pytest.approx(80.0, abs=1.0)
    narrow = interval_scores(actual, p10 + 60.0, p90 - 60.0)
    assert narrow["p10_p90_coverage_pct"] < 60.0
    assert narrow["pinball_p10_w"] > scores["pinball_p10_w"]
    assert narrow["pinball_p90_w"] > scores["pinball_p90_w"]
    with_gaps = interval_scores(
        np.r_[actual, np.nan, 5.0], np.r_[p10, 0.0, np.nan], np.r_[p90, 1.0, 9.0]
    )
    assert with_gaps == scores
    empty = interval_scores([np.nan], [1.0], [2.0])
    assert all(math.isnan(v) for v in empty.values())


def test_bad_tau_and_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="tau"):
        pinball_loss([1.0], [1.0], 1.0)
    with pytest.raises(ValueError, match="shape"):
        pinball_loss([1.0, 2.0], [1.0], 0.5)
