"""Fuel from what the generator really burns (tools.forecast.fuel_learning, fuel_history).

Realistic series come from the simulator (no real generator log with fuel exists in
/work/shared/data: the Victron recordings there are under six minutes long): an
off-grid site whose generator burns 1.45x its configured curve, so the configured
0.31 L/kWh and the true ~0.45 L/kWh differ as in issue 16.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.tools.fuel_sim import SimRun, hourly_history, offgrid_site, simulate
from tools.forecast.fuel_history import days_left, fuel_picture
from tools.forecast.fuel_learning import (
    MIN_TOTAL_HOURS,
    days_of_fuel_left,
    learn_fuel_from_level,
    learn_fuel_rate,
    level_run_samples,
)
from tools.forecast.generator_service import service_outlook
from tools.site import Generator

GEN = Generator(rated_kw=10.0, tank_l=200.0)  # synthetic curve: ~0.31 L/kWh at 75 %
START = datetime(2026, 11, 10, 7, 0, tzinfo=UTC)  # midnight in Colorado
TRUE_SCALE = 1.45


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
    # only the heavy band ran; the others keep the curve's shape, scaled by what was learned
    assert learned.source == ("scaled curve", "scaled curve", "history")
    assert learned.factors[0] == pytest.approx(learned.factors[2])
    assert "0.45 L/kWh over 30 running hours" in learned.note
    assert "synthetic curve says 0.31" in learned.note
    assert learned.label == "0.45 L/kWh learned from 30 run hours"
    # more litres per kWh at light load, as the curve says
    assert learned.at(0.2) > learned.at(0.75)


def test_too_little_running_keeps_the_curve_and_says_so() -> None:
    power, fuel = _history(4, l_per_kwh=0.45, fraction=0.75)
    learned = learn_fuel_rate(GEN, power, fuel)
    assert not learned.learned
    assert learned.overall_l_per_kwh == pytest.approx(0.235 * 10 / 7.5, rel=0.01)
    assert "4 running hours in the history, 10 needed" in learned.note
    assert learned.label == (
        "synthetic curve 0.31 L/kWh; not enough history (4 h of running with fuel data, "
        "10 h needed)"
    )
    assert learned.curve(GEN) == [(f, pytest.approx(v)) for f, v in GEN.curve]


@pytest.fixture(scope="module")
def simulated() -> tuple[SimRun, float]:
    """Six simulated days, readings every 5 minutes (the simulator needs no event loop)."""
    site = offgrid_site(curve_scale=TRUE_SCALE)
    run = asyncio.run(simulate(site, start=START, days=6))
    return run, run.true_l_per_kwh


def test_learns_the_true_rate_from_a_simulated_flow_meter(
    simulated: tuple[SimRun, float],
) -> None:
    run, true_rate = simulated
    configured = offgrid_site()
    picture = fuel_picture(configured, hourly_history(run.readings), now=START + timedelta(days=6))
    learned = picture.learned
    assert picture.measured_by == "fuel flow meter"
    assert learned.learned and learned.run_hours > MIN_TOTAL_HOURS
    assert true_rate == pytest.approx(0.45, abs=0.04)  # the situation of the issue
    assert learned.curve_l_per_kwh == pytest.approx(1.88 / 6.0, rel=0.01)
    assert learned.overall_l_per_kwh == pytest.approx(true_rate, rel=0.03)
    for factor, source in zip(learned.factors, learned.source, strict=True):
        assert factor == pytest.approx(TRUE_SCALE, rel=0.05), (learned, source)
    # the recent daily burn is what the simulator burned per day
    burned_per_day = run.sim.totals.fuel_burned_l / 6.0
    assert picture.recent_burn_l_per_day == pytest.approx(burned_per_day, rel=0.05)
    assert picture.recent_run_h_per_day == pytest.approx(6.0, abs=0.3)  # 5 h + 2 h every 2nd day


def test_learns_from_tank_level_drops_without_a_flow_meter(
    simulated: tuple[SimRun, float],
) -> None:
    run, true_rate = simulated
    configured = offgrid_site()
    history = hourly_history(run.readings, drop=("generator_fuel_rate_lph",), level_noise_l=0.5)
    picture = fuel_picture(configured, history, now=START + timedelta(days=6))
    assert picture.measured_by == "tank level drops"
    assert picture.learned.learned
    assert picture.learned.overall_l_per_kwh == pytest.approx(true_rate, rel=0.04)
    assert picture.recent_burn_l_per_day == pytest.approx(
        run.sim.totals.fuel_burned_l / 6.0, rel=0.08
    )


def test_refills_are_not_taken_for_negative_burn(simulated: tuple[SimRun, float]) -> None:
    run, true_rate = simulated
    configured = offgrid_site()
    gen = configured.generator
    assert gen is not None
    # one delivery while stopped (day 2, 12:00 local) and one during an evening run
    # (day 4, 19:00 local): the second run is left out, the first changes nothing
    quiet = START + timedelta(days=2, hours=12)
    running = START + timedelta(days=4, hours=19)
    plain = hourly_history(run.readings, drop=("generator_fuel_rate_lph",))
    refilled = hourly_history(
        run.readings, drop=("generator_fuel_rate_lph",), refills=((quiet, 250.0), (running, 150.0))
    )

    def samples(history: object) -> int:
        return len(
            level_run_samples(
                gen,
                history.hourly_mean("generator_power_w"),  # type: ignore[attr-defined]
                history.hourly_mean("generator_fuel_l"),  # type: ignore[attr-defined]
            )
        )

    assert samples(refilled) == samples(plain) - 1
    learned = learn_fuel_from_level(
        gen,
        refilled.hourly_mean("generator_power_w"),
        refilled.hourly_mean("generator_fuel_l"),
    )
    assert learned.overall_l_per_kwh == pytest.approx(true_rate, rel=0.04)
    picture = fuel_picture(configured, refilled, now=START + timedelta(days=6))
    # refills count as no burn (not as hundreds of litres "burned" or negative days)
    assert picture.recent_burn_l_per_day == pytest.approx(
        run.sim.totals.fuel_burned_l / 6.0, rel=0.1
    )


def test_history_without_running_keeps_the_configured_curve() -> None:
    configured = offgrid_site()
    history = hourly_history([])  # nothing stored at all
    picture = fuel_picture(configured, history, now=START + timedelta(days=2))
    assert not picture.learned.learned and picture.measured_by == "none"
    assert picture.recent_burn_l_per_day is None
    assert picture.learned.label.startswith("configured curve 0.31 L/kWh; not enough history")


def test_days_left_uses_the_larger_burn_and_an_order_date() -> None:
    left = days_left(
        412.0,
        recent_l_per_day=46.0,
        forecast_l_per_day=38.0,
        reserve_days=3,
        today=date(2026, 12, 1),
    )
    assert left.days == pytest.approx(412 / 46)
    assert left.order_by == date(2026, 12, 6) and not left.order_now
    short = days_left(
        80.0,
        recent_l_per_day=None,
        forecast_l_per_day=40.0,
        reserve_days=3,
        today=date(2026, 12, 1),
    )
    assert short.days == pytest.approx(2.0) and short.order_now
    idle = days_left(
        80.0, recent_l_per_day=0.0, forecast_l_per_day=None, reserve_days=3, today=date(2026, 12, 1)
    )
    assert idle.days is None and not idle.order_now


def test_days_of_fuel_left() -> None:
    assert days_of_fuel_left(90.0, 20.0, 0.45) == pytest.approx(10.0)
    assert days_of_fuel_left(90.0, 0.0, 0.45) is None
    with pytest.raises(ValueError, match="negative"):
        days_of_fuel_left(-1.0, 20.0, 0.45)


def test_service_outlook_counts_down_and_says_what_is_missing() -> None:
    kwargs: dict[str, Any] = {
        "name": "generator",
        "site_label": "Cabin",
        "today": date(2026, 12, 1),
    }
    due = service_outlook(
        run_hours_h=1190.0, last_service_h=1000.0, interval_h=250.0, run_h_per_day=6.0, **kwargs
    )
    assert due.hours_left == pytest.approx(60.0) and due.due == date(2026, 12, 11)
    assert due.text.startswith(
        "60 run hours until the generator's service at Cabin, around Fri 11 Dec"
    )
    over = service_outlook(
        run_hours_h=1300.0, last_service_h=1000.0, interval_h=250.0, run_h_per_day=6.0, **kwargs
    )
    assert over.text.startswith("The generator at Cabin is 50 run hours overdue")
    unknown = service_outlook(
        run_hours_h=None, last_service_h=0.0, interval_h=250.0, run_h_per_day=None, **kwargs
    )
    assert "I don't know the generator's run hours" in unknown.text
    assert "generator_run_hours_h" in unknown.text
    never = service_outlook(
        run_hours_h=120.0, last_service_h=0.0, interval_h=250.0, run_h_per_day=None, **kwargs
    )
    assert "No last service is recorded" in never.text and "too little history" in never.text
    no_interval = service_outlook(
        run_hours_h=120.0, last_service_h=0.0, interval_h=None, run_h_per_day=2.0, **kwargs
    )
    assert "No service interval is set" in no_interval.text
    assert "generator_service_interval_h" in no_interval.text
