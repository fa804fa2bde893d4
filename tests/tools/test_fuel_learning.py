"""Fuel from what the generator really burns (tools.forecast.fuel_learning)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tools.forecast.fuel_learning import days_of_fuel_left, learn_fuel_rate
from tools.site import Generator

GEN = Generator(rated_kw=10.0, tank_l=200.0)  # synthetic curve: ~0.31 L/kWh at 75 %


def _history(hours: int, *, l_per_kwh: float, fraction: float) -> tuple[pd.Series, pd.Series]:
    """``hours`` running hours at ``fraction`` of the rating burning ``l_per_kwh``, then off."""
    idx = pd.date_range("2026-01-01", periods=hours + 24, freq="h", tz="UTC")
    rng = np.random.default_rng(3)
    power_w = np.r_[np.full(hours, fraction * 10_000.0), np.zeros(24)]
    power_w = power_w * (1 + rng.normal(0, 0.03, len(idx)))
    lph = power_w / 1000.0 * l_per_kwh
    return pd.Series(power_w, index=idx), pd.Series(lph, index=idx)


def test_learns_the_sites_own_rate_when_it_ran_enough() -> None:
    power, fuel = _history(30, l_per_kwh=0.45, fraction=0.75)
    learned = learn_fuel_rate(GEN, power, fuel)
    assert learned.learned
    assert learned.overall_l_per_kwh == pytest.approx(0.45, rel=0.02)
    assert learned.at(0.75) == pytest.approx(0.45, rel=0.02)
    assert learned.source == ("curve", "curve", "history")  # only the heavy band ran
    assert "0.45 L/kWh over 30 running hours" in learned.note
    assert "synthetic curve says 0.31" in learned.note
    # the light band still comes from the curve (more litres per kWh at light load)
    assert learned.at(0.2) > learned.at(0.75) * 0.5


def test_too_little_running_keeps_the_curve_and_says_so() -> None:
    power, fuel = _history(4, l_per_kwh=0.45, fraction=0.75)
    learned = learn_fuel_rate(GEN, power, fuel)
    assert not learned.learned
    assert learned.overall_l_per_kwh == pytest.approx(0.235 * 10 / 7.5, rel=0.01)
    assert "4 running hours in the history, 10 needed" in learned.note


def test_days_of_fuel_left() -> None:
    assert days_of_fuel_left(90.0, 20.0, 0.45) == pytest.approx(10.0)
    assert days_of_fuel_left(90.0, 0.0, 0.45) is None
    with pytest.raises(ValueError, match="negative"):
        days_of_fuel_left(-1.0, 20.0, 0.45)
