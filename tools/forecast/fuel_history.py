"""The generator's fuel as the site's history tells it (pure: history in, figures out).

:func:`fuel_picture` reads the hourly history (:class:`tools.alerts.context.History`)
once and gives what the fuel outlook, the generator plan and the service
question need: the L/kWh the generator really burns (from a fuel flow meter, else
from the tank level's drop over each run, else the configured curve), the fuel
in the tank now, the recent daily burn and the recent daily run hours.
:func:`days_left` turns those and a forecast burn into days and an order date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

import pandas as pd

from tools.alerts.context import History
from tools.alerts.rules_generator import hour_weights, hourly_fuel_burned_l
from tools.forecast.fuel_learning import (
    RUNNING_SHARE,
    LearnedFuel,
    learn_from_samples,
    learn_fuel_from_level,
    learn_fuel_rate,
    level_run_samples,
)
from tools.site import Site

__all__ = ["RECENT_DAYS", "DaysLeft", "FuelPicture", "days_left", "fuel_level_l", "fuel_picture"]

RECENT_DAYS = 7
"""The recent daily burn and run hours are averages over this many days."""
MIN_RECENT_DAYS = 1.0
"""Less history than this [d] gives no recent average."""

Measured = Literal["fuel flow meter", "tank level drops", "none"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FuelPicture:
    learned: LearnedFuel
    measured_by: Measured
    recent_burn_l_per_day: float | None
    """Average fuel burned per day over the recent days [L/d] (None: too little history).
    From the flow meter, else the level's drop over each run (sensor noise would add up
    over every hour of hourly drops; a run refilled while running is left out), else the
    hourly level drops of :func:`tools.alerts.rules_generator.hourly_fuel_burned_l`."""
    recent_run_h_per_day: float | None
    """Average generator running hours per day over the recent days [h/d]."""
    recent_days: float
    """Days of history behind the two averages [d]."""
    computed_at: datetime


def fuel_level_l(site: Site, level_l: float | None, level_pct: float | None) -> float | None:
    """Fuel in the tank [L]: the level in litres, else a percentage of the configured tank."""
    if level_l is not None:
        return level_l
    if level_pct is not None and site.generator is not None:
        return level_pct * site.generator.tank_l / 100.0
    return None


def _level_series(history: History, site: Site) -> pd.Series:
    level = history.hourly_mean("generator_fuel_l").dropna()
    if level.empty and site.generator is not None:
        level = history.hourly_mean("fuel_level_pct").dropna() * site.generator.tank_l / 100.0
    return level.sort_index()


def fuel_picture(site: Site, history: History, *, now: datetime) -> FuelPicture:
    """What the history says about the generator's fuel (the site must have a generator)."""
    gen = site.generator
    if gen is None:
        raise ValueError(f"site {site.name} has no generator")
    power_w = history.hourly_mean("generator_power_w").dropna().sort_index()
    running = history.hourly_mean("generator_running").dropna().sort_index()
    rate = history.hourly_mean("generator_fuel_rate_lph").dropna().sort_index()
    level = _level_series(history, site)
    measured: Measured = "none"
    learned = learn_from_samples(gen, [])
    if not rate.empty and (rate > 0).any():
        measured = "fuel flow meter"
        learned = learn_fuel_rate(gen, power_w, rate, running if not running.empty else None)
    if not learned.learned and len(level) >= 2:
        from_level = learn_fuel_from_level(
            gen, power_w, level, running if not running.empty else None
        )
        if from_level.learned or measured == "none":
            measured, learned = "tank level drops", from_level
    # recent averages over the last RECENT_DAYS (or the history there is, if a day or more)
    since = now - timedelta(days=RECENT_DAYS)
    starts = [s.index.min() for s in (power_w, running, rate, level) if not s.empty]
    span_d = (
        (now - max(min(starts).to_pydatetime(), since)).total_seconds() / 86400.0 if starts else 0.0
    )
    burn_per_day: float | None = None
    run_per_day: float | None = None
    if span_d >= MIN_RECENT_DAYS:
        runs = (
            level_run_samples(gen, power_w, level, running if not running.empty else None)
            if measured == "tank level drops"
            else []
        )
        burned = (
            rate * hour_weights(rate.index, now)
            if measured == "fuel flow meter"
            else hourly_fuel_burned_l(history, site, now=now)
        )
        if runs:
            # Level noise would add up over every hour; the drop over each run does not.
            burn_per_day = (
                sum(r.fuel_l for r in runs if r.start is not None and r.start >= since) / span_d
            )
        elif not burned.empty:
            recent = burned[(burned.index >= since) & (burned.index < now)]
            burn_per_day = float(recent.sum()) / span_d
        if not running.empty:
            share = running * hour_weights(running.index, now)
        else:
            share = (power_w > RUNNING_SHARE * gen.rated_kw * 1000.0).astype("float64")
        recent_share = share[(share.index >= since) & (share.index < now)]
        if not recent_share.empty:
            run_per_day = float(recent_share.sum()) / span_d
    return FuelPicture(
        learned=learned,
        measured_by=measured,
        recent_burn_l_per_day=burn_per_day,
        recent_run_h_per_day=run_per_day,
        recent_days=span_d,
        computed_at=now,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class DaysLeft:
    days: float | None
    """Days of fuel at the larger of the recent and forecast daily burns (None: no burn)."""
    burn_l_per_day: float
    order_by: date | None
    """The last day to order and still keep ``reserve_days`` in the tank (None: no burn)."""
    order_now: bool


def days_left(
    fuel_now_l: float,
    *,
    recent_l_per_day: float | None,
    forecast_l_per_day: float | None,
    reserve_days: float,
    today: date,
) -> DaysLeft:
    """Days until the tank is empty at the larger of the two burns (the cautious one for
    ordering fuel), and the day to order by to keep ``reserve_days`` of it in the tank."""
    burns = [b for b in (recent_l_per_day, forecast_l_per_day) if b is not None]
    burn = max(burns) if burns else 0.0
    if burn <= 0:
        return DaysLeft(days=None, burn_l_per_day=0.0, order_by=None, order_now=False)
    days = max(fuel_now_l, 0.0) / burn
    slack = days - reserve_days
    return DaysLeft(
        days=days,
        burn_l_per_day=burn,
        order_by=today + timedelta(days=int(slack)) if slack >= 1 else None,
        order_now=slack < 1,
    )
