"""How a day's PV forecast compared with what was measured (pure function, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["Scorecard", "scorecard"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Scorecard:
    """Forecast against actual over the hours both cover.

    ``error_pct`` is (forecast − actual) / actual energy in % (positive: the
    forecast was too high), None when nothing was measured. ``bias_w`` is the
    mean of forecast − actual, ``mae_w`` the mean absolute error, per step.
    """

    energy_forecast_kwh: float
    energy_actual_kwh: float
    error_pct: float | None
    bias_w: float
    mae_w: float
    hours: float


def _step_hours(index: pd.Index) -> float:
    if isinstance(index, pd.DatetimeIndex) and len(index) > 1:
        step = pd.Series(index).diff().dropna().median()
        return float(step / pd.Timedelta(hours=1))
    return 1.0


def forecast_vs_actual(error_pct: float | None) -> str:
    """``error_pct`` in words that cannot be read backwards: "forecast was 57 % above actual"."""
    if error_pct is None:
        return "nothing was measured to compare the forecast with"
    if abs(error_pct) < 0.5:
        return "forecast matched actual"
    side = "above" if error_pct > 0 else "below"
    return f"forecast was {abs(error_pct):.0f} % {side} actual"


def scorecard(*, forecast_w: pd.Series, actual_w: pd.Series) -> Scorecard:
    """Compare two power series [W] on the steps where both have a value.

    The step length is the index's typical spacing (hourly series: 1 h), so
    energy [kWh] is the sum of power × step / 1000.
    """
    both = pd.concat({"f": forecast_w, "a": actual_w}, axis=1, join="inner").dropna()
    if both.empty:
        raise ValueError("the forecast and the actual series share no steps")
    step_h = _step_hours(both.index)
    f = both["f"].astype(float)
    a = both["a"].astype(float)
    energy_f = float(f.sum()) * step_h / 1000.0
    energy_a = float(a.sum()) * step_h / 1000.0
    diff = f - a
    return Scorecard(
        energy_forecast_kwh=energy_f,
        energy_actual_kwh=energy_a,
        error_pct=(energy_f - energy_a) / energy_a * 100.0 if energy_a > 0 else None,
        bias_w=float(diff.mean()),
        mae_w=float(diff.abs().mean()),
        hours=len(both) * step_h,
    )
