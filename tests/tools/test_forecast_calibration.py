"""Bands calibrated on a site's own forecast errors (tools.forecast.calibration)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tools.forecast.calibration import (
    MIN_DAYS,
    ResidualHistory,
    adaptive_band,
    conformal_band,
    pv_bucket,
)

TZ = "Europe/Paris"


def _days(
    rng: np.random.Generator, start: str, n_days: int, sigma_w: float | np.ndarray
) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """Hourly forecasts of 1 kW and actuals 1 kW + N(0, sigma) for ``n_days`` days."""
    times = pd.date_range(start, periods=24 * n_days, freq="h", tz="UTC")
    p50 = np.full(len(times), 1000.0)
    noise = rng.normal(0.0, 1.0, len(times)) * np.broadcast_to(sigma_w, len(times))
    return times, p50, p50 + noise


def _history(times: pd.DatetimeIndex, p50: np.ndarray, actual: np.ndarray) -> ResidualHistory:
    # a model band far too narrow (+-5 %): the band a model tuned on another site gives
    return ResidualHistory.build(
        times, tz=TZ, p50_w=p50, p10_w=p50 * 0.95, p90_w=p50 * 1.05, actual_w=actual, scale_w=p50
    )


def _coverage(band_lo: np.ndarray, band_hi: np.ndarray, actual: np.ndarray) -> float:
    return float(np.mean((band_lo <= actual) & (actual <= band_hi)))


def test_too_little_history_keeps_the_model_band_and_says_so() -> None:
    rng = np.random.default_rng(1)
    times, p50, actual = _days(rng, "2024-02-29T23:00Z", MIN_DAYS - 1, 300.0)  # Paris midnight
    history = _history(times, p50, actual)
    target = pd.date_range(times[-1] + pd.Timedelta(hours=1), periods=24, freq="h")
    band = conformal_band(
        history,
        before=target[0],
        times=target,
        tz=TZ,
        p50_w=np.full(24, 1000.0),
        scale_w=np.full(24, 1000.0),
        model_p10_w=np.full(24, 950.0),
        model_p90_w=np.full(24, 1050.0),
    )
    assert not band.calibrated
    assert band.history_days == MIN_DAYS - 1
    assert f"{MIN_DAYS - 1} days" in band.note and f"{MIN_DAYS} needed" in band.note
    assert np.allclose(band.p10_w, 950.0) and np.allclose(band.p90_w, 1050.0)


def test_narrow_model_band_is_widened_to_cover_about_80_percent() -> None:
    rng = np.random.default_rng(2)
    times, p50, actual = _days(rng, "2024-03-01", 28 + 60, 300.0)
    history = _history(times, p50, actual)
    covered: list[float] = []
    for day in range(28, 28 + 60):
        sel = slice(24 * day, 24 * (day + 1))
        band = conformal_band(
            history,
            before=times[24 * day],
            times=times[sel],
            tz=TZ,
            p50_w=p50[sel],
            scale_w=p50[sel],
            model_p10_w=p50[sel] * 0.95,
            model_p90_w=p50[sel] * 1.05,
        )
        assert band.calibrated
        covered.append(_coverage(band.p10_w, band.p90_w, actual[sel]))
    # the model band alone covers about 13 % (+-50 W of a 300 W spread)
    assert _coverage(p50 * 0.95, p50 * 1.05, actual) < 0.2
    assert 0.75 <= float(np.mean(covered)) <= 0.85


def test_no_look_ahead() -> None:
    rng = np.random.default_rng(3)
    times, p50, actual = _days(rng, "2024-03-01", 40, 200.0)
    before = times[24 * 30]
    wild = actual.copy()
    wild[24 * 30 :] += 5000.0  # what happens from ``before`` on must not matter
    target = times[24 * 30 : 24 * 31]
    bands = [
        adaptive_band(
            _history(times, p50, a),
            before=before,
            times=target,
            tz=TZ,
            p50_w=p50[:24],
            scale_w=p50[:24],
            model_p10_w=p50[:24] * 0.95,
            model_p90_w=p50[:24] * 1.05,
        )
        for a in (actual, wild)
    ]
    assert np.array_equal(bands[0].p10_w, bands[1].p10_w)
    assert np.array_equal(bands[0].p90_w, bands[1].p90_w)


def test_adaptive_levels_follow_a_change_in_spread() -> None:
    """Calm for 40 days, then twice as stormy: the adaptive band recovers coverage faster."""
    rng = np.random.default_rng(4)
    n_days = 70
    sigma = np.where(np.arange(24 * n_days) < 24 * 40, 150.0, 300.0)
    times, p50, actual = _days(rng, "2024-03-01", n_days, sigma)
    history = _history(times, p50, actual)
    plain: list[float] = []
    adaptive: list[float] = []
    for day in range(45, 60):  # a week after the change
        sel = slice(24 * day, 24 * (day + 1))
        common = {
            "before": times[24 * day],
            "times": times[sel],
            "tz": TZ,
            "p50_w": p50[sel],
            "scale_w": p50[sel],
            "model_p10_w": p50[sel] * 0.95,
            "model_p90_w": p50[sel] * 1.05,
        }
        a = conformal_band(history, **common)
        b = adaptive_band(history, **common)
        plain.append(_coverage(a.p10_w, a.p90_w, actual[sel]))
        adaptive.append(_coverage(b.p10_w, b.p90_w, actual[sel]))
    assert float(np.mean(adaptive)) > float(np.mean(plain)) + 0.02


def test_pv_buckets_by_forecast_clear_sky_index() -> None:
    buckets = pv_bucket(np.array([100.0, 500.0, 800.0, 950.0, 10.0]), np.array([1000.0] * 4 + [0]))
    assert buckets.tolist() == [0, 1, 2, 3, 3]
