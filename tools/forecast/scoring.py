"""Scores of probabilistic forecasts: P10-P90 interval coverage and pinball loss (pure).

Pinball (quantile) loss of a quantile forecast ``q_hat`` at level ``tau`` for an
actual ``y``: ``tau * (y - q_hat)`` when ``y >= q_hat``, else
``(1 - tau) * (q_hat - y)``. Its mean is smallest for the true ``tau``-quantile,
so lower is better; it is in the unit of the data [W]. A P10 that is too high
is punished 9 times harder than one that is too low, and the other way round
for P90.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["TARGET_COVERAGE_PCT", "interval_scores", "pinball_loss"]

TARGET_COVERAGE_PCT = 80.0
"""Share of actuals a calibrated P10-P90 band holds [%]."""

ArrayLike = npt.ArrayLike


def pinball_loss(actual: ArrayLike, quantile_forecast: ArrayLike, tau: float) -> float:
    """Mean pinball loss of ``quantile_forecast`` at level ``tau`` (0 < tau < 1).

    Pairs with a NaN on either side are left out; NaN when none is left.
    """
    if not 0.0 < tau < 1.0:
        raise ValueError(f"tau must be between 0 and 1 (got {tau})")
    y = np.asarray(actual, dtype=np.float64)
    q = np.asarray(quantile_forecast, dtype=np.float64)
    if y.shape != q.shape:
        raise ValueError(f"actual and forecast differ in shape: {y.shape} vs {q.shape}")
    ok = np.isfinite(y) & np.isfinite(q)
    if not ok.any():
        return float("nan")
    diff = y[ok] - q[ok]
    return float(np.mean(np.maximum(tau * diff, (tau - 1.0) * diff)))


def interval_scores(actual: ArrayLike, p10: ArrayLike, p90: ArrayLike) -> dict[str, float]:
    """``p10_p90_coverage_pct`` (share of actuals with P10 <= actual <= P90 [%], target
    :data:`TARGET_COVERAGE_PCT`), ``pinball_p10_w`` and ``pinball_p90_w`` [W]."""
    y = np.asarray(actual, dtype=np.float64)
    lo = np.asarray(p10, dtype=np.float64)
    hi = np.asarray(p90, dtype=np.float64)
    ok = np.isfinite(y) & np.isfinite(lo) & np.isfinite(hi)
    if not ok.any():
        nan = float("nan")
        return {"p10_p90_coverage_pct": nan, "pinball_p10_w": nan, "pinball_p90_w": nan}
    inside = (lo[ok] <= y[ok]) & (y[ok] <= hi[ok])
    return {
        "p10_p90_coverage_pct": round(100.0 * float(np.mean(inside)), 1),
        "pinball_p10_w": round(pinball_loss(y[ok], lo[ok], 0.1), 1),
        "pinball_p90_w": round(pinball_loss(y[ok], hi[ok], 0.9), 1),
    }
