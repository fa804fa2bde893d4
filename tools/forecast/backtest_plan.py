"""Plans scored against hindsight: replay a recorded history day by day (pure, no I/O).

Every local day (site zone) the PV forecast is made at midnight from the data
before it (PV without weather: the morning's median and a low quantile), and
the day is then run hour by hour by a :class:`Controller`, as the running bot
does (it re-plans every 10 minutes on the newest SOC):

- the plan is remade on the measured SOC and a fresh load forecast (P50/P90
  from the data before that hour) when it is ``replan_h`` hours old or the
  measured SOC has left the plan's path by more than ``replan_drift_pct``
  points (``replan_h=1`` re-plans every hour);
- each hour the morning's PV forecast is scaled by today's PV measured before
  that hour (:func:`~tools.forecast.pv.pv_outlook_from_measured`, ``nowcast``);
- the hour being decided is planned on the median forecast, the hours after it
  on a pessimistic one (PV quantile ``pv_low_q``, load P90; the generator with
  ``plan_on_median`` on the median throughout);
- a guard acts each hour on the measured SOC and a pessimistic hour: it stops
  miners (largest first) or starts / raises the generator (the missing energy
  only) when that hour would end within a reserve of the floor, sized from the
  site's own forecast errors: the :data:`RESERVE_QUANTILE` of each day's worst
  one-hour miss of the midnight median, last :data:`RESERVE_WINDOW_DAYS` days, or
  with ``reserve_by_hour`` per local hour (:func:`reserve_pct_by_hour`);
- miners, at half past (``half_hour_guard``): the first half-hour of PV and load is
  measured (the data's own 30-min steps; a series held hourly over its steps, as the
  OpenMV load, is not read: the pessimistic hour's value stands in); the miners run
  on for the second half only if, no better than the first half nor than the
  pessimistic hour, it would end above half the reserve (the scoring stays hourly:
  the hour's miner power is the mean of its two halves);
- miners, on a full battery (``full_carry``, the default): only those the surplus measured
  in the last hour carries run, whatever asked for them;
- miners, in the morning (``morning_guard``, the default): below a full battery they
  wait until the measured SOC has risen over the night's low; ``take_below_full``
  (optional) runs them below full on the median's surplus when the median still fills
  the battery today with the site's own past shortfall of it to spare;
- miners, optionally (``spill``): on top of the plan, miners run on what the battery
  would spill (:func:`~tools.forecast.plans.miners_on_spill`), the median outlook to
  the day's end kept a margin the site's own past misses size
  (:func:`spill_margin_kwh_by_hour`).
- the generator's default (:func:`generator_controller`) goes further: its plan
  holds that reserve itself and is refilled in few full hours, the pessimistic hour's
  load is at least the last measured step's, a guard start runs at the fuel-efficient
  load the battery can keep, equally cheap runs are put off as late as they can be,
  and half way through each hour the guard looks again.

What the controller did is applied to what was measured (off-grid battery,
:func:`~tools.forecast.battery.step_off_grid`) and compared with

- **hindsight**: the same optimiser fed the day's measured PV and load at
  midnight (perfect foresight: the most the plan could have got), and
- **the simple rule** the README compares against, reacting to what happens
  (miners: by the measured surplus; generator: start near the floor, stop at 90 %).

Each keeps its own battery from day to day. Miners: the value of a schedule is
the miner energy the site could really carry (miner kWh minus the load left
unserved beyond what the same battery without miners left); a *floor violation*
is an hour where load went unserved that the site without miners (its own
battery, day after day) served. Generator: fuel from the site's curve; a floor
violation is an hour with load left unserved. ``avoidable_violation_hours``
counts the plan's violation hours in which hindsight had none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from tools.devices.simulator import fuel_rate_lph
from tools.forecast.backtest import BacktestDataError
from tools.forecast.battery import project_soc, step_off_grid
from tools.forecast.load import forecast_load
from tools.forecast.plans import (
    PlanError,
    generator_guard_w,
    generator_start_w,
    generator_step_guard_w,
    hours_until_full,
    miner_floor_guard,
    miners_carried_on_full_battery,
    miners_kept_by_headroom,
    miners_kept_by_outlook,
    miners_on_full_battery,
    miners_on_spill,
    miners_on_surplus,
    plan_generator,
    plan_miners,
    rule_generator_run,
    simple_rule_miners_on,
    soc_rise_pct,
)
from tools.forecast.pv import (
    NO_WEATHER_BAND_DAYS,
    NO_WEATHER_DAYS,
    NOWCAST_HALF_LIFE_H,
    clear_sky_power_w,
    forecast_without_weather_bands,
    pv_outlook_from_measured,
)
from tools.site import Site

__all__ = [
    "FULL_TAKE_MARGIN_QUANTILE",
    "MINER_FULL_SOC_PCT",
    "MIN_HISTORY_DAYS",
    "MORNING_NIGHT_BACK_H",
    "MORNING_RISE_PCT",
    "SPILL_MARGIN_QUANTILE",
    "TAKE_MARGIN_QUANTILE",
    "Controller",
    "PlanKind",
    "backtest_plan",
    "drawdown_miss_kwh",
    "generator_controller",
    "hourly_excess_kwh",
    "last_step_load_w",
    "measured_within_hours",
    "miner_controller",
    "morning_hours",
    "reserve_pct_by_hour",
    "rest_of_day_miss_kwh",
    "spill_margin_kwh_by_hour",
    "until_recharge",
]

PlanKind = Literal["miners", "generator"]
MIN_HISTORY_DAYS = 28
"""Days of data before the first replayed day when ``score_from`` is None."""
_TOL_W = 1.0
RESERVE_WINDOW_DAYS = 28
"""Days of forecast errors behind the automatic reserve."""
RESERVE_QUANTILE = 0.9
"""Share of past days whose worst forecast shortfall the reserve covers."""
RESERVE_MIN_DAYS = 7
"""Days of forecast errors needed before the reserve is sized from them."""
RESERVE_DEFAULT_PCT = 15.0
"""The guard's reserve [points] before there are enough days of errors."""
RESERVE_MIN_PCT = 5.0
"""The guard's reserve is never below this [points]."""
HOURLY_RESERVE_QUANTILE = 0.95
"""Share of past same-hour misses (±1 h, last 28 days) the per-hour reserve covers."""
HOURLY_RESERVE_MIN_PCT = 2.0
"""The per-hour reserve is never below this [points]."""
SPILL_MARGIN_QUANTILE = 0.9
"""Share of past days whose miss of the rest of the day the spill margin covers."""
FULL_TAKE_MARGIN_QUANTILE = 0.75
"""Share of past misses of the median night the full-battery take keeps to spare."""
MORNING_RISE_PCT = 2.0
"""Points the measured SOC must have risen above the night's low before the morning guard
lets miners run below a full battery."""
MORNING_NIGHT_BACK_H = 12
"""Hours of measured SOC behind the hour being decided in which the night's low is sought."""
TAKE_MARGIN_QUANTILE = 0.9
"""Share of the site's past shortfalls of the median outlook to the day's end that a take
below full keeps to spare."""
MINER_FULL_SOC_PCT = 90.0
"""The SOC [%] at and above which the miner controller counts the battery full (the
full-battery take runs, the take's refill check aims for it; 99 before 2026-12-03)."""
MINER_HORIZON_H = 24
"""Each miner plan looks this far ahead (as the running bot's does)."""
GENERATOR_LOOKAHEAD_H = 24
"""The generator plan made at midnight looks this far past the day (48 h, as live)."""


def _midnight(day: date, tz: str) -> pd.Timestamp:
    naive = pd.Timestamp(day.year, day.month, day.day)
    return naive.tz_localize(tz, nonexistent="shift_forward", ambiguous=True).tz_convert("UTC")


@dataclass(slots=True)
class _Track:
    """One strategy's running totals and battery state."""

    soc_pct: float
    value_kwh: float = 0.0
    energy_kwh: float = 0.0
    hours_on: int = 0
    fuel_l: float = 0.0
    violation_hours: int = 0
    avoidable_violation_hours: int = 0
    unserved_kwh: float = 0.0
    guard_shed_kwh: float = 0.0
    guard_starts: int = 0
    soc_log: list[float] = field(default_factory=list)

    def report(self, kind: PlanKind) -> dict[str, Any]:
        out: dict[str, Any] = {
            "floor_violation_hours": self.violation_hours,
            "avoidable_violation_hours": self.avoidable_violation_hours,
            "unserved_kwh": round(self.unserved_kwh, 2),
        }
        if kind == "miners":
            out |= {
                "hours_with_miners": self.hours_on,
                "miner_energy_kwh": round(self.energy_kwh, 1),
                "value_kwh": round(self.value_kwh, 1),
                "shed_by_floor_guard_kwh": round(self.guard_shed_kwh, 1),
            }
        else:
            out |= {
                "generator_hours": self.hours_on,
                "generator_energy_kwh": round(self.energy_kwh, 1),
                "fuel_l": round(self.fuel_l, 1),
                "hours_started_by_guard": self.guard_starts,
            }
        return out


@dataclass(frozen=True, slots=True)
class _DayForecast:
    """The morning's PV forecast [W] for the day and the next (median and pessimistic)."""

    pv_p50: np.ndarray
    pv_low: np.ndarray


def _clear_sky_grid(site: Site, pv: pd.Series) -> pd.Series | None:
    """Clear-sky power [W] on the readings' own step over every day a forecast of this
    backtest reads (its history's weeks before the first reading to the days after the
    last), computed once instead of again for each forecast (as ``backtest pv`` does).
    Clear sky is a pointwise function of time: precomputing it leaks nothing. A forecast
    whose times are not all on this grid computes its own, as without it."""
    times = pv.dropna().index
    if len(times) < 3:
        return None
    step = pd.Timedelta(times.to_series().diff().median())
    if step <= pd.Timedelta(0):
        return None
    reach = pd.Timedelta(days=max(NO_WEATHER_DAYS, NO_WEATHER_BAND_DAYS) + 2)
    grid = pd.date_range(
        times[0].floor("D") - reach, times[-1].ceil("D") + pd.Timedelta(days=4), freq=step
    )
    return clear_sky_power_w(site, grid)


ForecastMemo = dict[tuple[pd.Timestamp, date, tuple[float, ...]], list[pd.Series]]


def _pv_forecasts(
    site: Site,
    pv: pd.Series,
    day: date,
    start: pd.Timestamp,
    n_hours: int,
    low_q: float,
    *,
    clear_w: pd.Series | None = None,
    memo: ForecastMemo | None = None,
) -> _DayForecast:
    """PV P50 and the ``low_q`` quantile [W] for ``n_hours`` hours from ``start`` (local
    midnight), from data before it (the forecast available that morning). ``clear_w``:
    clear sky already computed (:func:`_clear_sky_grid`); ``memo``: the forecasts of
    each day from the data before each ``start`` already made in this backtest (the
    warm-up, the margins and the replay ask for the same ones)."""
    hours = pd.date_range(start, periods=n_hours, freq="h")
    pv_hist = pv[pv.index < start]
    qs = (0.5,) if low_q >= 0.5 else (low_q, 0.5)
    parts: list[list[pd.Series]] = [[] for _ in qs]
    for k in range((n_hours + 23) // 24 + 1):
        target = day + timedelta(days=k)
        key = (start, target, qs)
        fcs = memo.get(key) if memo is not None else None
        if fcs is None:
            fcs = forecast_without_weather_bands(
                site, pv_hist, target, quantiles_q=qs, clear_w=clear_w
            )
            if memo is not None:
                memo[key] = fcs
        for i, fc in enumerate(fcs):
            parts[i].append(fc.resample("1h").mean())

    def on_hours(chunks: list[pd.Series]) -> np.ndarray:
        fc = pd.concat(chunks)
        fc = fc[~fc.index.duplicated()].reindex(hours).fillna(0.0).clip(lower=0.0)
        return fc.to_numpy(dtype=np.float64)

    arrays = [on_hours(c) for c in parts]
    return _DayForecast(pv_p50=arrays[-1], pv_low=arrays[0])


def _load_bands(
    site: Site, load: pd.Series, start: pd.Timestamp, n_hours: int
) -> tuple[np.ndarray, np.ndarray]:
    """Load P50 and P90 [W] for ``n_hours`` hours from ``start``, from data before it."""
    fc = forecast_load(load[load.index < start], start=start, hours=n_hours, tz=site.timezone)
    p50 = fc.p50_w.ffill().bfill().fillna(0.0).to_numpy(dtype=np.float64)
    p90 = fc.p90_w.ffill().bfill().fillna(0.0).to_numpy(dtype=np.float64)
    return p50, np.maximum(p90, p50)


@dataclass(frozen=True, slots=True)
class Controller:
    """How the plan is run (the same for every day replayed).

    ``replan_h``: the plan is remade every this many hours on the measured SOC (the
    running bot re-plans every 10 minutes, so 1 is what it does). The hour being
    decided is planned on the median forecast; the hours after it on the
    pessimistic one (PV quantile ``pv_low_q``, load P90 when ``load_p90``): the
    plan spends only what a bad evening still leaves. Miners: the plan keeps
    ``reserve_pct`` points above the floor and the guard
    (:func:`~tools.forecast.plans.miner_floor_guard`) stops miners each hour when
    the pessimistic hour would end below floor + ``guard_pct``. Generator: the plan
    holds floor + the site's ``plan_reserve_pct``, and the guard
    (:func:`~tools.forecast.plans.generator_guard_w`) starts or raises the
    generator, for the missing energy only, when the pessimistic hour would end
    below floor + ``guard_pct``.

    ``nowcast``: each hour the morning's PV forecast is scaled by today's measured PV
    before that hour (:func:`~tools.forecast.pv.pv_outlook_from_measured`).
    ``plan_on_median``: the plan is made on the median for every hour (the guards
    still look at the pessimistic hour). The guard's reserve, unless ``guard_pct``
    fixes it: the ``reserve_quantile`` of each day's worst one-hour miss of the
    midnight median (default), or with ``reserve_by_hour`` per local hour
    (:func:`reserve_pct_by_hour`, optionally never under ``any_hour_quantile`` of
    each day's largest miss). ``guard_full_load`` / ``guard_ahead``: a guard start
    runs the generator at its rating / adds the pessimistic hour's deficit.

    Miners: ``half_hour_guard`` stops them at half past for the rest of the hour when
    the measured first half-hour, carried on, would end within half the reserve of the
    floor; ``spill`` adds the miners :func:`~tools.forecast.plans.miners_on_spill`
    allows, with the ``spill_quantile`` of the site's past misses of the rest of the
    day as the margin (:func:`spill_margin_kwh_by_hour`). ``full_take`` (the default of
    :func:`miner_controller`) adds the miners a full battery (``full_soc_pct``) carries
    on the surplus measured in the last hour
    (:func:`~tools.forecast.plans.miners_on_full_battery`), checked with
    ``full_take_refill`` (after a bad hour the median fills the battery again today,
    :func:`~tools.forecast.plans.refills_after`) and ``full_take_margin_quantile`` (the
    median night to the morning keeps that quantile of the site's past misses of it,
    :func:`drawdown_miss_kwh`, above the reserve) or, with
    ``full_take_pessimistic_check``, on the pessimistic outlook (to the next morning
    with ``full_take_check_to_morning``). Measured and left off: ``headroom`` (the plan
    may end below where it began, down to the reserve on the pessimistic outlook, to
    the end of tomorrow with ``headroom_to_tomorrow_end``, guarded by
    :func:`~tools.forecast.plans.miners_kept_by_headroom`) and ``headroom_quantile``
    (miners on the median 24 h's headroom above the site's past misses of it).
    ``plan_holds_reserve`` (generator): each plan holds floor + the guard's reserve
    itself (:func:`~tools.forecast.plans.plan_generator`'s ``hold_soc_pct``), so the
    reserve is refilled in few full, fuel-efficient hours that the optimiser places,
    instead of by the guard topping it up at part load hour after hour (this fuel curve
    burns ~0.21 L per running hour on top of ~0.26 L/kWh). ``load_persists``
    (generator): the guard's pessimistic hour has at least the load of the last
    measured step before it (:func:`last_step_load_w`): a kettle, oven or heater that
    is on now is still on for part of the next hour, whether or not the past 28 days
    saw it at this time of day; the per-hour reserve is sized on the same pessimistic
    hour. ``reserve_from_excess``: the daily reserve from each day's worst miss past the
    pessimistic hour instead of past the median. ``defer_runs`` (generator): of equally
    cheap schedules the plan takes the latest (it re-plans every hour on what it
    measures, so a night load lower than forecast or an early sun can still save the
    run). ``within_hour_guard`` (generator): half way through the hour the guard looks
    again on the half hour just measured and runs the rest of the hour at the
    fuel-efficient load when a pessimistic half hour would end below the keep level
    (:func:`~tools.forecast.plans.generator_step_guard_w`; the hour is scored on its
    mean output). ``guard_efficient_start`` (generator): a guard that must start the
    generator runs it at the rating, bounded by the hour's load plus what the battery
    can take and keep until it is used (the room below full the plan's path leaves at
    its highest, :func:`~tools.forecast.plans.generator_start_w`), not at the missing
    energy only.

    Miners, below a full battery: ``morning_guard`` (the default of
    :func:`miner_controller` since 2026-12-03): in the morning (:func:`morning_hours`) the
    plan's miners wait until the measured SOC has risen ``morning_rise_pct`` points over
    its lowest of the last ``morning_night_back_h`` hours
    (:func:`~tools.forecast.plans.soc_rise_pct`): a dark morning does not spend the night's
    battery on a forecast; once it has, miners may run on the median's surplus for the hour
    (:func:`~tools.forecast.plans.miners_on_surplus`) when, should the hour go badly, the
    median still fills the battery today and the full take's night check passes (with
    ``morning_take_margin``, with the take's margin). ``take_below_full`` (measured, off):
    at any hour, the same take with the ``take_margin_quantile`` of the site's past
    shortfalls of the median to the day's end to spare (:func:`drawdown_miss_kwh` to the
    day's end); ``take_night_from_full`` makes the night check from the hour the median
    fills the battery (its margin then the night's only), ``take_affordable`` adds that the
    battery can afford the take on the pessimistic PV should the day not fill it.

    ``full_carry`` (the default of :func:`miner_controller` since 2026-12-03): on a full
    battery (``full_soc_pct``) only the miners the surplus measured in the last hour carries
    run, whatever asked for them (the plan, a take;
    :func:`~tools.forecast.plans.miners_carried_on_full_battery`): the plan's outlook guard
    counts what they draw as given back when tomorrow's pessimistic sun fills the battery,
    and a late afternoon's draw that today's sun does not quite give back stays in the
    battery until it is next full. ``full_take_spill_margin`` (measured, off): the
    full-battery take also runs when, should the hour go badly with them, the median
    fills the battery again today with the ``take_margin_quantile`` of the site's past
    shortfalls of it to the day's end to spare (instead of passing the night check, which
    in the afternoon asks the bad hour itself to carry them).
    """

    replan_h: int = 1
    replan_drift_pct: float | None = 2.0
    pv_low_q: float = 0.3
    load_p90: bool = True
    reserve_pct: float = 0.0
    guard_pct: float | None = None
    reserve_quantile: float = RESERVE_QUANTILE
    outlook_guard: bool = True
    nowcast: bool = True
    plan_on_median: bool = False
    guard_full_load: bool = False
    guard_efficient_start: bool = False
    guard_ahead: bool = False
    any_hour_quantile: float | None = None
    nowcast_half_life_h: float = NOWCAST_HALF_LIFE_H
    reserve_by_hour: bool = False
    hourly_reserve_quantile: float = HOURLY_RESERVE_QUANTILE
    spill: bool = False
    half_hour_guard: bool = False
    spill_quantile: float = SPILL_MARGIN_QUANTILE
    plan_holds_reserve: bool = False
    reserve_from_excess: bool = False
    load_persists: bool = False
    defer_runs: bool = False
    within_hour_guard: bool = False
    headroom: bool = False
    headroom_to_tomorrow_end: bool = True
    headroom_quantile: float | None = None
    headroom_surplus_only: bool = True
    full_take: bool = False
    full_soc_pct: float = 99.0
    full_take_pessimistic_check: bool = True
    full_take_check_to_morning: bool = False
    full_take_refill: bool = False
    full_take_margin_quantile: float | None = None
    morning_guard: bool = False
    morning_rise_pct: float = MORNING_RISE_PCT
    morning_night_back_h: int = MORNING_NIGHT_BACK_H
    take_below_full: bool = False
    take_margin_quantile: float = TAKE_MARGIN_QUANTILE
    take_night_from_full: bool = False
    morning_take_margin: bool = False
    take_affordable: bool = False
    full_carry: bool = False
    full_take_spill_margin: bool = False


def generator_controller() -> Controller:
    """How the generator plan is run by default (``backtest plan generator``): planned on
    the median; the plan holds the guard's reserve itself (refilled in few full hours);
    the reserve is sized per hour of day (:func:`reserve_pct_by_hour`) from the site's
    misses past the pessimistic hour, whose load is at least that of the last measured
    step; a guard start runs at the fuel-efficient load the battery can keep; of equally
    cheap schedules the latest runs; half way through each hour the guard looks again
    at what it has measured (see :class:`Controller`)."""
    return Controller(
        plan_on_median=True,
        plan_holds_reserve=True,
        reserve_by_hour=True,
        load_persists=True,
        defer_runs=True,
        within_hour_guard=True,
        guard_efficient_start=True,
    )


def miner_controller() -> Controller:
    """How the miner plan is run by default (``backtest plan miners``): the plan and its
    guards as :class:`Controller`'s defaults, plus miners on a full battery (``full_take``
    since 2026-12-02, :func:`~tools.forecast.plans.miners_on_full_battery`): on the surplus
    measured in the last hour, when, should this hour go badly with them, the median
    outlook fills the battery again later today
    (:func:`~tools.forecast.plans.refills_after`) and the median night to the next
    morning keeps the :data:`FULL_TAKE_MARGIN_QUANTILE` of the site's past misses of it
    (:func:`drawdown_miss_kwh`) above the guard's reserve; and the morning guard
    (``morning_guard``, since 2026-12-03): in the morning, below full, miners wait until
    the measured SOC has risen :data:`MORNING_RISE_PCT` points over the night's low, then
    may run on the median's surplus when the median still fills the battery today. The
    battery counts as full from :data:`MINER_FULL_SOC_PCT` (since 2026-12-03; 99 before), and
    on a full battery only the miners the surplus measured in the last hour carries run
    (``full_carry``, since 2026-12-03)."""
    return Controller(
        full_take=True,
        full_take_pessimistic_check=False,
        full_take_refill=True,
        full_take_margin_quantile=FULL_TAKE_MARGIN_QUANTILE,
        morning_guard=True,
        full_soc_pct=MINER_FULL_SOC_PCT,
        full_carry=True,
    )


def _worst_hour_shortfall_kwh(
    a_pv: np.ndarray, a_load: np.ndarray, f_pv: np.ndarray, f_load: np.ndarray
) -> float:
    """The most the measured net load ran ahead of the midnight forecast in one hour of
    the day [kWh] (what the battery had to find extra before the next hourly decision)."""
    miss = ((a_load - a_pv) - (f_load - f_pv)) / 1000.0
    return float(max(0.0, miss.max())) if len(miss) else 0.0


def reserve_pct_from_errors(
    site: Site, shortfalls_kwh: list[float], *, quantile: float, min_days: int = RESERVE_MIN_DAYS
) -> float:
    """The guard's reserve [points of SOC] sized from the site's own forecast errors:
    the ``quantile`` of each day's worst one-hour shortfall over the last
    :data:`RESERVE_WINDOW_DAYS` days (at least :data:`RESERVE_MIN_PCT`);
    :data:`RESERVE_DEFAULT_PCT` with fewer than ``min_days`` of them."""
    assert site.battery is not None
    recent = shortfalls_kwh[-RESERVE_WINDOW_DAYS:]
    if len(recent) < min_days:
        return RESERVE_DEFAULT_PCT
    kwh = float(np.quantile(recent, quantile))
    return min(max(100.0 * kwh / site.battery.capacity_kwh, RESERVE_MIN_PCT), 50.0)


def _nowcast(
    site: Site, ctl: Controller, fc: _DayForecast, a_pv: np.ndarray, s: int
) -> _DayForecast:
    """The morning's PV forecast corrected at hour ``s`` by today's PV measured before it
    (:func:`~tools.forecast.pv.pv_outlook_from_measured`), when ``ctl.nowcast``."""
    if not ctl.nowcast:
        return fc
    p50, low = pv_outlook_from_measured(
        fc.pv_p50,
        a_pv,
        now_index=s,
        capacity_w=sum(a.kwp for a in site.pv_arrays) * 1000.0,
        others_w=[fc.pv_low],
        half_life_h=ctl.nowcast_half_life_h,
    )
    return _DayForecast(pv_p50=p50, pv_low=low)


def hourly_excess_kwh(
    actual_pv_w: np.ndarray,
    actual_load_w: np.ndarray,
    pessimistic_pv_w: np.ndarray,
    pessimistic_load_w: np.ndarray,
) -> np.ndarray:
    """How far each hour's measured net load ran past the pessimistic hour the guard
    looked at (low PV, high load) [kWh, >= 0]: what the guard's reserve must hold."""
    miss = ((actual_load_w - actual_pv_w) - (pessimistic_load_w - pessimistic_pv_w)) / 1000.0
    return np.maximum(np.nan_to_num(miss, nan=0.0), 0.0)


def reserve_pct_by_hour(
    site: Site,
    days: list[tuple[np.ndarray, np.ndarray]],
    *,
    quantile: float = HOURLY_RESERVE_QUANTILE,
    min_days: int = RESERVE_MIN_DAYS,
    any_hour_quantile: float | None = None,
) -> np.ndarray:
    """The guard's reserve [points of SOC] for each local hour 0..23, sized from the
    site's own misses: ``days`` holds, per past day, the local hour of each hour and
    :func:`hourly_excess_kwh`. The reserve of hour *h* is the ``quantile`` of the misses
    at hours *h*-1..*h*+1 over the last :data:`RESERVE_WINDOW_DAYS` days (at least
    :data:`HOURLY_RESERVE_MIN_PCT`, at most 50); :data:`RESERVE_DEFAULT_PCT` for every
    hour with fewer than ``min_days`` days. A night whose load is steady keeps little
    back; the hours the forecast misses most keep the most. With ``any_hour_quantile``,
    no hour keeps less than that quantile of each day's largest miss (at any hour): a
    load spike seen at one hour may come at another."""
    assert site.battery is not None
    recent = days[-RESERVE_WINDOW_DAYS:]
    if len(recent) < min_days:
        return np.full(24, RESERVE_DEFAULT_PCT)
    local = np.concatenate([h for h, _ in recent]).astype(np.int64)
    miss = np.concatenate([m for _, m in recent])
    out = np.empty(24)
    for h in range(24):
        dist = np.minimum((local - h) % 24, (h - local) % 24)
        kwh = float(np.quantile(miss[dist <= 1], quantile)) if np.any(dist <= 1) else 0.0
        out[h] = 100.0 * kwh / site.battery.capacity_kwh
    if any_hour_quantile is not None:
        worst = [float(m.max()) if len(m) else 0.0 for _, m in recent]
        spike = float(np.quantile(worst, any_hour_quantile))
        out = np.maximum(out, 100.0 * spike / site.battery.capacity_kwh)
    return np.clip(out, HOURLY_RESERVE_MIN_PCT, 50.0)


def rest_of_day_miss_kwh(
    actual_pv_w: np.ndarray,
    actual_load_w: np.ndarray,
    outlooks_pv_w: list[np.ndarray],
    load_p50_w: np.ndarray,
) -> np.ndarray:
    """For each hour *h* of a day, how far the measured net energy from *h* to the day's
    end fell short of the median outlook made at *h* (``outlooks_pv_w[h]``: the PV median
    as corrected at *h*, for the whole day; ``load_p50_w``: the load median) [kWh, >= 0]:
    what the miners' spill margin must hold at that hour."""
    actual = np.nan_to_num(actual_pv_w - actual_load_w, nan=0.0)
    out = np.zeros(len(actual))
    for h, pv in enumerate(outlooks_pv_w):
        expected = float(np.sum(pv[h : len(actual)] - load_p50_w[h : len(actual)]))
        out[h] = max(0.0, (expected - float(actual[h:].sum())) / 1000.0)
    return out


def drawdown_miss_kwh(
    actual_pv_w: np.ndarray,
    actual_load_w: np.ndarray,
    outlooks_pv_w: list[np.ndarray],
    load_p50_w: np.ndarray,
    *,
    horizon_h: int = MINER_HORIZON_H,
    ends: list[int] | None = None,
) -> np.ndarray:
    """For each hour *h* with an outlook (``outlooks_pv_w[h]``: the PV median as corrected
    at *h*, on the same hours as the actuals), the most the measured net energy from *h*
    to any hour within ``horizon_h`` fell short of the median outlook made at *h*
    (``load_p50_w``: the load median) [kWh, >= 0]: how far below the median path the
    battery really went, what a take on the median outlook must keep to spare. ``ends``
    (an end index per hour, exclusive) replaces the fixed horizon."""
    actual = np.nan_to_num(actual_pv_w - actual_load_w, nan=0.0)
    out = np.zeros(len(outlooks_pv_w))
    for h, pv in enumerate(outlooks_pv_w):
        end = min(h + horizon_h if ends is None else ends[h], len(actual))
        short = np.cumsum((pv[h:end] - load_p50_w[h:end]) - actual[h:end])
        out[h] = max(0.0, float(short.max()) / 1000.0) if len(short) else 0.0
    return out


def spill_margin_kwh_by_hour(
    site: Site,
    days: list[tuple[np.ndarray, np.ndarray]],
    *,
    quantile: float = SPILL_MARGIN_QUANTILE,
    min_days: int = RESERVE_MIN_DAYS,
) -> np.ndarray:
    """The miners' spill margin [kWh] for each local hour 0..23, from the site's own
    misses: ``days`` holds, per past day, the local hour of each hour and
    :func:`rest_of_day_miss_kwh`. The margin of hour *h* is the ``quantile`` of the misses
    at hours *h*-1..*h*+1 over the last :data:`RESERVE_WINDOW_DAYS` days; with fewer than
    ``min_days`` days, the battery's whole usable energy (no miners on a forecast, only
    on a surplus there is now)."""
    assert site.battery is not None
    usable_kwh = site.battery.capacity_kwh * (100.0 - site.battery.min_soc_pct) / 100.0
    recent = days[-RESERVE_WINDOW_DAYS:]
    if len(recent) < min_days:
        return np.full(24, usable_kwh)
    local = np.concatenate([h for h, _ in recent]).astype(np.int64)
    miss = np.concatenate([m for _, m in recent])
    out = np.empty(24)
    for h in range(24):
        dist = np.minimum((local - h) % 24, (h - local) % 24)
        out[h] = float(np.quantile(miss[dist <= 1], quantile)) if np.any(dist <= 1) else usable_kwh
    return np.maximum(out, 0.0)


def last_step_load_w(load: pd.Series, hours: pd.DatetimeIndex) -> np.ndarray:
    """The load [W] of the last measured step before each hour starts (the newest reading
    a controller deciding that hour has; NaN when the step before is missing)."""
    i = load.index.searchsorted(hours, side="left") - 1
    out = np.full(len(hours), np.nan)
    ok = i >= 0
    out[ok] = load.to_numpy(dtype=np.float64)[i[ok]]
    if ok.any():  # a reading from before a gap tells nothing about this hour
        step = pd.Timedelta(hours=1)
        age = hours[ok] - load.index[i[ok]]
        out[np.flatnonzero(ok)[np.asarray(age > step)]] = np.nan
    return out


def measured_within_hours(series: pd.Series) -> bool:
    """Whether ``series`` has readings of its own within the hour (not one hourly value
    held over the hour's steps, as the OpenMV load is): only then can a controller
    that looks half way through an hour learn anything from the first half, without
    reading the second."""
    hour = series.index.floor("h")
    firsts = series.groupby(hour).first()
    lasts = series.groupby(hour).last()
    counts = series.groupby(hour).size()
    several = counts > 1
    if not several.any():
        return False
    differ = (firsts[several] - lasts[several]).abs() > _TOL_W
    return bool(differ.mean() > 0.5)


def morning_hours(pv_p50_w: np.ndarray) -> np.ndarray:
    """The hours of a day (from local midnight) that are its morning: PV expected and
    before the hour the median forecast ``pv_p50_w`` [W] peaks."""
    pv = np.asarray(pv_p50_w, dtype=np.float64)
    out = np.zeros(len(pv), dtype=bool)
    if len(pv) and pv.max() > 0:
        peak = int(np.argmax(pv))
        out[:peak] = pv[:peak] > 0
    return out


def until_recharge(pv_w: np.ndarray, load_w: np.ndarray) -> int:
    """How many hours from now (index 0) until the outlook recharges the battery again
    after the next hours without surplus (the morning after the night ahead), inclusive;
    the whole outlook when it never does."""
    deficit = np.flatnonzero(pv_w[1:] <= load_w[1:]) + 1
    if not len(deficit):
        return len(pv_w)
    after = np.flatnonzero(pv_w[deficit[0] :] > load_w[deficit[0] :])
    return int(deficit[0] + after[0] + 1) if len(after) else len(pv_w)


def _plan_inputs(
    ctl: Controller,
    fc: _DayForecast,
    p50: np.ndarray,
    p90: np.ndarray,
    s: int,
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """PV and load [W] the plan made at hour ``s`` uses for hours ``s..n``."""
    if ctl.plan_on_median:
        return fc.pv_p50[s:n].copy(), p50[: n - s].copy()
    pv = fc.pv_low[s:n].copy()
    pv[0] = fc.pv_p50[s]
    load = (p90 if ctl.load_p90 else p50)[: n - s].copy()
    load[0] = p50[0]
    return pv, load


def _due(ctl: Controller, s: int, s0: int, soc: float, path: np.ndarray | None) -> bool:
    """Re-plan now: first hour of the day, the plan is ``replan_h`` hours old, or the
    measured SOC has left the plan's path by more than ``replan_drift_pct`` points."""
    if s == 0 or path is None or s - s0 >= ctl.replan_h or s - s0 >= len(path):
        return True
    drift = ctl.replan_drift_pct
    return drift is not None and abs(soc - float(path[s - s0])) > drift


@dataclass(frozen=True, slots=True)
class _HourView:
    """What the miner controller sees when it decides hour ``s`` of the day: the measured
    SOC, the PV outlook corrected at ``s`` and the load bands of the plan made at ``s0``."""

    site: Site
    ctl: Controller
    soc_pct: float
    s: int
    s0: int
    n_day: int
    fc: _DayForecast
    p50: np.ndarray
    p90: np.ndarray
    keep_soc_pct: float
    night_margin_kwh: float | None
    night_margins_kwh: np.ndarray | None = None

    def night_keeps(self, on: list[float], *, margin_kwh: float | None = None) -> list[float]:
        """The miners of a take that, should this hour go badly with them, leave the median
        night to the next morning the site's own past miss of it (``night_margin_kwh``, or
        ``margin_kwh``; :func:`drawdown_miss_kwh`) above the reserve; all of them without
        that margin."""
        margin = self.night_margin_kwh if margin_kwh is None else margin_kwh
        if not on or margin is None:
            return on
        assert self.site.battery is not None
        s, s0, fc, p50 = self.s, self.s0, self.fc, self.p50
        end = min(s + MINER_HORIZON_H, s0 + len(p50))
        end = s + until_recharge(fc.pv_p50[s:end], p50[s - s0 : end - s0])
        bad_pv = fc.pv_p50[s:end].copy()
        bad_load = p50[s - s0 : end - s0].copy()
        bad_pv[0], bad_load[0] = fc.pv_low[s], self.p90[s - s0]
        return miners_kept_by_headroom(
            self.site,
            soc_pct=self.soc_pct,
            running_w=on,
            pv_w=bad_pv,
            load_w=bad_load,
            keep_soc_pct=self.keep_soc_pct + 100.0 * margin / self.site.battery.capacity_kwh,
        )

    def take_keeps(self, on: list[float], margin_kwh: float) -> list[float]:
        """The miners of a take below full that, should this hour go badly with them, the
        median outlook still fills the battery after today with ``margin_kwh`` to spare
        (what it took then comes back), and that then pass, from the hour it is full, the
        night check the full-battery take makes (its margin is the night's from that hour,
        not the whole afternoon's: the afternoon's is ``margin_kwh``)."""
        while on:
            k = self.hours_until_full(on, margin_kwh)
            if k is not None and self.ctl.take_affordable and not self.affordable(on):
                k = None
            if k is not None:
                if self.night_margins_kwh is None or not self.ctl.take_night_from_full:
                    return self.night_keeps(on)
                return on if self.night_from_full_ok(self.s + k) else []
            on = on[1:]
        return on

    def affordable(self, on: list[float]) -> bool:
        """Whether the battery can afford what a take below full draws should the day
        not fill it: on the pessimistic PV (the low quantile, corrected by today's PV)
        and the median load to the next morning, with them on through a bad hour now it
        stays above the reserve, or no lower than it would without them."""
        s, s0, fc, p50 = self.s, self.s0, self.fc, self.p50
        end = min(s + MINER_HORIZON_H, s0 + len(p50))
        end = s + until_recharge(fc.pv_low[s:end], p50[s - s0 : end - s0])
        pv = fc.pv_low[s:end].copy()
        load = p50[s - s0 : end - s0].copy()
        load[0] = self.p90[s - s0]
        kept = miners_kept_by_headroom(
            self.site,
            soc_pct=self.soc_pct,
            running_w=on,
            pv_w=pv,
            load_w=load,
            keep_soc_pct=self.keep_soc_pct,
        )
        return kept == on

    def night_from_full_ok(self, at: int) -> bool:
        """Whether, from a full battery after hour ``at``, the median outlook to the next
        morning keeps the site's own past miss of it from that hour above the reserve."""
        assert self.site.battery is not None and self.night_margins_kwh is not None
        s0, fc, p50 = self.s0, self.fc, self.p50
        at = min(at, len(self.night_margins_kwh) - 1, s0 + len(p50) - 1)
        end = min(at + MINER_HORIZON_H, s0 + len(p50), len(fc.pv_p50))
        end = at + until_recharge(fc.pv_p50[at:end], p50[at - s0 : end - s0])
        keep = (
            self.keep_soc_pct
            + 100.0 * float(self.night_margins_kwh[at]) / self.site.battery.capacity_kwh
        )
        soc = self.ctl.full_soc_pct
        floor = self.site.battery.min_soc_pct
        for t in range(at + 1, end):
            soc, _ = step_off_grid(
                self.site,
                soc_pct=soc,
                supply_w=float(fc.pv_p50[t]),
                demand_w=float(p50[t - s0]),
                floor_soc_pct=floor,
            )
            if soc < keep:
                return False
        return True

    def refill_keeps(self, on: list[float], margin_kwh: float) -> list[float]:
        """The miners of a take that, should this hour go badly with them, the median
        outlook still fills the battery after later today (with ``margin_kwh`` to spare,
        :func:`~tools.forecast.plans.refills_after`), dropped largest first."""
        while on and self.hours_until_full(on, margin_kwh) is None:
            on = on[1:]
        return on

    def hours_until_full(self, on: list[float], margin_kwh: float) -> int | None:
        """Hours until the median outlook fills the battery again after a bad hour with the
        miners ``on`` (:func:`~tools.forecast.plans.hours_until_full`), None if it does not."""
        s, s0, n_day = self.s, self.s0, self.n_day
        return hours_until_full(
            self.site,
            soc_pct=self.soc_pct,
            extra_w=sum(on),
            hour_pv_w=float(self.fc.pv_low[s]),
            hour_load_w=float(self.p90[s - s0]),
            pv_w=self.fc.pv_p50[s + 1 : n_day],
            load_w=self.p50[s + 1 - s0 : n_day - s0],
            full_soc_pct=self.ctl.full_soc_pct,
            margin_kwh=margin_kwh,
        )


def _controlled_miners(
    site: Site,
    track: _Track,
    ctl: Controller,
    *,
    load: pd.Series,
    fc: _DayForecast,
    a_pv: np.ndarray,
    a_load: np.ndarray,
    hours: pd.DatetimeIndex,
    n_day: int,
    guard_pct: np.ndarray,
    spill_margin_kwh: np.ndarray | None = None,
    first_half: tuple[np.ndarray, np.ndarray] | None = None,
    drawdown_margin_kwh: np.ndarray | None = None,
    take_margin_kwh: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """Run the day hour by hour: re-plan every ``replan_h`` hours over the next
    :data:`MINER_HORIZON_H` hours on the measured SOC, guard each hour. Returns the
    miner load run [W] and the plans the optimiser could not make (its cautious
    fallback ran, or no miners)."""
    assert site.battery is not None
    floor = site.battery.min_soc_pct
    keep = min(floor + ctl.reserve_pct, 95.0)
    units = [m.power_kw * 1000.0 for m in sorted(site.miners, key=lambda m: -m.power_kw)]
    run_w = np.zeros(n_day)
    planned = np.zeros(0)
    path: np.ndarray | None = None
    p50 = p90 = np.zeros(0)
    s0 = 0
    no_plan = 0
    soc = track.soc_pct
    day_fc = fc
    morning = morning_hours(fc.pv_p50[:n_day])
    for s in range(n_day):
        n = min(s + MINER_HORIZON_H, len(hours))
        if ctl.headroom and ctl.headroom_to_tomorrow_end:
            n = len(hours)
        fc = _nowcast(site, ctl, day_fc, a_pv, s)
        if _due(ctl, s, s0, soc, path):
            p50, p90 = _load_bands(site, load, hours[s], n - s)
            pv_in, load_in = _plan_inputs(ctl, fc, p50, p90, s, n)
            plan_keep, end_pct = keep, None
            if ctl.headroom:
                # what the battery holds above what a bad horizon needs is the miners':
                # the plan keeps the guard's reserve and need not end where it began
                plan_keep = min(floor + float(guard_pct[s]), 95.0)
                base_end = project_soc(
                    site,
                    soc_start_pct=soc,
                    pv_w=pv_in,
                    load_w=load_in,
                    times=hours[s:n],
                    floor_soc_pct=plan_keep,
                ).end_soc_pct
                end_pct = min(plan_keep, base_end, soc)
            try:
                made = plan_miners(
                    site,
                    soc_start_pct=soc,
                    pv_w=pv_in,
                    load_w=load_in,
                    min_soc_pct=plan_keep,
                    end_soc_pct=end_pct,
                    times=hours[s:n],
                )
                planned, s0 = made.plan.miners_on.to_numpy(), s
                path = made.plan.projection.soc_pct.to_numpy()
                no_plan += bool(made.fallback)
            except PlanError:  # no plan: no miners until the next one
                planned, s0, path = np.zeros(n - s), s, None
                no_plan += 1
        count = int(planned[s - s0]) if s - s0 < len(planned) else 0
        wanted = units[:count]
        if ctl.headroom and wanted:
            wanted = miners_kept_by_headroom(
                site,
                soc_pct=soc,
                running_w=wanted,
                pv_w=fc.pv_low[s : s0 + len(p90)],
                load_w=p90[s - s0 :],
                keep_soc_pct=floor + float(guard_pct[s]),
            )
        elif ctl.outlook_guard and wanted:
            wanted = miners_kept_by_outlook(
                site,
                soc_pct=soc,
                running_w=wanted,
                pv_w=fc.pv_low[s : s0 + len(p90)],
                load_w=p90[s - s0 :],
            )
        if spill_margin_kwh is not None:
            # on top of the plan: what the battery would spill today on the median
            # outlook, with the site's own past miss of the rest of the day to spare (to
            # the day's end: a battery full again tomorrow does not carry tonight)
            on_spill = miners_on_spill(
                site,
                soc_pct=soc,
                miner_w=units,
                pv_w=fc.pv_p50[s:n_day],
                load_w=p50[s - s0 : n_day - s0],
                margin_kwh=float(spill_margin_kwh[s]),
                hour_pv_low_w=float(fc.pv_low[s]),
                hour_load_high_w=float(p90[s - s0]),
            )
            if sum(on_spill) > sum(wanted):
                wanted = on_spill
        if (
            ctl.headroom_quantile is not None
            and drawdown_margin_kwh is not None
            and (not ctl.headroom_surplus_only or fc.pv_p50[s] > p50[s - s0])
        ):
            # on top of the plan: what the battery holds above the median path's worst
            # point less the site's own past misses of that path (the next 24 h)
            end = min(s + MINER_HORIZON_H, s0 + len(p50))
            on_headroom = miners_kept_by_headroom(
                site,
                soc_pct=soc,
                running_w=units,
                pv_w=fc.pv_p50[s:end],
                load_w=p50[s - s0 : end - s0],
                keep_soc_pct=floor
                + 100.0 * float(drawdown_margin_kwh[s]) / site.battery.capacity_kwh,
            )
            if sum(on_headroom) > sum(wanted):
                wanted = on_headroom
        view = _HourView(
            site=site,
            ctl=ctl,
            soc_pct=soc,
            s=s,
            s0=s0,
            n_day=n_day,
            fc=fc,
            p50=p50,
            p90=p90,
            keep_soc_pct=floor + float(guard_pct[s]),
            night_margin_kwh=None
            if drawdown_margin_kwh is None or not ctl.full_take_margin_quantile
            else float(drawdown_margin_kwh[s]),
            night_margins_kwh=drawdown_margin_kwh if ctl.full_take_margin_quantile else None,
        )
        below_full = soc < ctl.full_soc_pct
        if ctl.morning_guard and below_full and morning[s]:
            # in the morning a battery below full is the sun's to fill: miners wait until
            # the measured SOC has risen over the night's low (the day is producing, not
            # only forecast to), then run on the median's surplus for this hour if, should
            # the hour go badly, the median still fills the battery today
            recent = track.soc_log[-ctl.morning_night_back_h :]
            if soc_rise_pct(soc_pct=soc, recent_soc_pct=recent) < ctl.morning_rise_pct:
                wanted = []
            else:
                on = miners_on_surplus(miner_w=units, surplus_w=float(fc.pv_p50[s] - p50[s - s0]))
                margin = (
                    float(take_margin_kwh[s])
                    if ctl.morning_take_margin and take_margin_kwh is not None
                    else 0.0
                )
                on = view.take_keeps(on, margin)
                if sum(on) > sum(wanted):
                    wanted = on
        if ctl.take_below_full and below_full and take_margin_kwh is not None:
            # below full at any hour: miners on the median's surplus for this hour when,
            # should the hour go badly with them, the median outlook still fills the battery
            # today with the site's own past shortfall of it to spare
            on = miners_on_surplus(miner_w=units, surplus_w=float(fc.pv_p50[s] - p50[s - s0]))
            on = view.take_keeps(on, float(take_margin_kwh[s]))
            if sum(on) > sum(wanted):
                wanted = on
        if ctl.full_take and s > 0:
            # a full battery curtailing PV: miners on the surplus measured in the last
            # hour (no more than the outlook's for this one); what they would take
            # should the sun go must leave a bad next 24 h above the guard's reserve
            on_full = miners_on_full_battery(
                soc_pct=soc,
                miner_w=units,
                last_pv_w=float(a_pv[s - 1]),
                last_load_w=float(a_load[s - 1]),
                hour_pv_w=float(fc.pv_p50[s]),
                hour_load_w=float(p50[s - s0]),
                full_soc_pct=ctl.full_soc_pct,
            )
            if ctl.full_take_refill:
                # ... and only while, should this hour go badly with them, the median
                # outlook fills the battery again later today: a cloud's take comes back
                on_full = view.refill_keeps(on_full, 0.0)
            # ... and should this hour go badly with them, the median outlook to the
            # morning still keeps the site's own past miss of it above the reserve
            spared: list[float] = []
            if ctl.full_take_spill_margin and take_margin_kwh is not None and on_full:
                # (or the median fills the battery again today with the site's own past
                # shortfall of it to the day's end to spare: the take comes back today)
                spared = view.refill_keeps(on_full, float(take_margin_kwh[s]))
            on_full = view.night_keeps(on_full)
            if sum(spared) > sum(on_full):
                on_full = spared
            if on_full and ctl.full_take_pessimistic_check:
                end = min(s + MINER_HORIZON_H, s0 + len(p90))
                if ctl.full_take_check_to_morning:
                    end = s + until_recharge(fc.pv_low[s:end], p90[s - s0 : end - s0])
                on_full = miners_kept_by_headroom(
                    site,
                    soc_pct=soc,
                    running_w=on_full,
                    pv_w=fc.pv_low[s:end],
                    load_w=p90[s - s0 : end - s0],
                    keep_soc_pct=floor + float(guard_pct[s]),
                )
            if sum(on_full) > sum(wanted):
                wanted = on_full
        if ctl.full_carry and s > 0:
            # a full battery has nothing left to store: miners run on the surplus measured
            # in the last hour, not on the full battery (what they draw from it late in the
            # day may not come back before the night)
            wanted = miners_carried_on_full_battery(
                soc_pct=soc,
                running_w=wanted,
                last_pv_w=float(a_pv[s - 1]),
                last_load_w=float(a_load[s - 1]),
                full_soc_pct=ctl.full_soc_pct,
            )
        kept = miner_floor_guard(
            site,
            soc_pct=soc,
            running_w=wanted,
            pv_w=float(fc.pv_low[s]),
            load_w=float(p90[s - s0]),
            keep_soc_pct=floor + float(guard_pct[s]),
        )
        run_w[s] = sum(kept)
        h1_pv = h1_load = np.nan
        if first_half is not None:
            h1_pv, h1_load = float(first_half[0][s]), float(first_half[1][s])
        if kept and (np.isfinite(h1_pv) or np.isfinite(h1_load)):
            # half past: the first half-hour is measured (what is not measured within
            # the hour, e.g. an hourly load, is taken as the bad hour's); the miners run
            # on only if the second half, no better than the first nor than the bad
            # hour, still ends above half the reserve (half an hour's worth)
            if not np.isfinite(h1_pv):
                h1_pv = float(fc.pv_low[s])
            if not np.isfinite(h1_load):
                h1_load = float(p90[s - s0])
            mid, _ = step_off_grid(
                site,
                soc_pct=soc,
                supply_w=h1_pv / 2.0,
                demand_w=(h1_load + run_w[s]) / 2.0,
                floor_soc_pct=floor,
            )
            second = miner_floor_guard(
                site,
                soc_pct=mid,
                running_w=[w / 2.0 for w in kept],
                pv_w=min(float(fc.pv_low[s]), h1_pv) / 2.0,
                load_w=max(float(p90[s - s0]), h1_load) / 2.0,
                keep_soc_pct=floor + float(guard_pct[s]) / 2.0,
            )
            run_w[s] = (sum(kept) + 2.0 * sum(second)) / 2.0
        track.guard_shed_kwh += max(0.0, float(sum(units[:count]) - run_w[s]) / 1000.0)
        track.soc_log = [*track.soc_log[-47:], soc]
        soc, _ = step_off_grid(
            site,
            soc_pct=soc,
            supply_w=float(a_pv[s]),
            demand_w=float(a_load[s] + run_w[s]),
            floor_soc_pct=floor,
        )
    return run_w, no_plan


def _controlled_generator(
    site: Site,
    track: _Track,
    ctl: Controller,
    *,
    load: pd.Series,
    fc: _DayForecast,
    a_pv: np.ndarray,
    a_load: np.ndarray,
    hours: pd.DatetimeIndex,
    n_day: int,
    guard_pct: np.ndarray,
    pv_native: pd.Series | None = None,
) -> tuple[np.ndarray, int]:
    """The generator output [W] of the day run hour by hour: re-planned every
    ``replan_h`` hours over the rest of the horizon on the measured SOC (at floor +
    ``plan_reserve_pct``, else the floor), and started by the guard when the hour
    looks too short. Returns the output and the plans that could not hold the floor."""
    assert site.battery is not None and site.generator is not None
    gen = site.generator
    floor = site.battery.min_soc_pct
    target = min(floor + max(gen.plan_reserve_pct, ctl.reserve_pct), 95.0)
    n = len(hours)
    out = np.zeros(n_day)
    planned = np.zeros(0)
    path: np.ndarray | None = None
    p90 = np.zeros(0)
    s0 = 0
    short = 0
    soc = track.soc_pct
    running = False
    day_fc = fc
    last_w = last_step_load_w(load, hours[:n_day])
    for s in range(n_day):
        fc = _nowcast(site, ctl, day_fc, a_pv, s)
        if _due(ctl, s, s0, soc, path):
            p50, p90 = _load_bands(site, load, hours[s], n - s)
            pv_in, load_in = _plan_inputs(ctl, fc, p50, p90, s, n)
            common: dict[str, Any] = {
                "soc_start_pct": soc,
                "pv_w": pv_in,
                "load_w": load_in,
                "running_now": running,
                "times": hours[s:n],
            }
            if ctl.plan_holds_reserve:
                common["hold_soc_pct"] = floor + guard_pct[s:n]
            if ctl.defer_runs:
                common["defer"] = True
            made = plan_generator(site, min_soc_pct=target, **common)
            if target > floor and not made.feasible:
                made = plan_generator(site, **common)
            short += not made.feasible
            planned, s0 = made.generator_w.to_numpy(), s
            path = made.projection.soc_pct.to_numpy()
        g = float(planned[s - s0]) if s - s0 < len(planned) else 0.0
        guarded = generator_guard_w(
            site,
            soc_pct=soc,
            planned_w=g,
            pv_w=float(fc.pv_low[s]),
            load_w=float(np.fmax(p90[s - s0], last_w[s]))
            if ctl.load_persists
            else float(p90[s - s0]),
            keep_soc_pct=floor + float(guard_pct[s]),
            start_w=gen.rated_kw * 1000.0
            if ctl.guard_full_load
            else generator_start_w(
                site,
                pv_w=float(fc.pv_low[s]),
                load_w=float(p90[s - s0]),
                path_soc_pct=path[s - s0 + 1 :] if path is not None else np.zeros(0),
            )
            if ctl.guard_efficient_start
            else 0.0,
            ahead_w=float(p90[s - s0] - fc.pv_low[s]) if ctl.guard_ahead else 0.0,
        )
        if guarded > g:  # the guard starts it, or raises it, for the hour
            g = guarded
            track.guard_starts += 1
        if ctl.within_hour_guard and pv_native is not None:
            g = _second_half(
                site,
                ctl,
                s,
                hours,
                soc,
                g,
                pv_native,
                load,
                fc,
                p90[s - s0],
                floor + float(guard_pct[s]),
                track,
            )
        out[s] = g
        running = g > 0
        soc, _ = step_off_grid(
            site,
            soc_pct=soc,
            supply_w=float(a_pv[s] + g),
            demand_w=float(a_load[s]),
            floor_soc_pct=floor,
        )
    return out, short


def _second_half(
    site: Site,
    ctl: Controller,
    s: int,
    hours: pd.DatetimeIndex,
    soc: float,
    g: float,
    pv_native: pd.Series,
    load: pd.Series,
    fc: _DayForecast,
    p90_w: float,
    keep_soc_pct: float,
    track: _Track,
) -> float:
    """The hour's mean generator output [W] once the controller has looked again half
    way through it, on the half hour it has just measured
    (:func:`~tools.forecast.plans.generator_step_guard_w`): the second half runs at the
    fuel-efficient load when a pessimistic half hour (the load at least that of the
    first half) would end below the keep level. The hour is then scored on its mean
    output (the battery's energy is the same; the fuel on the curve at the mean is a
    little more than two half hours really burn)."""
    t0 = hours[s]
    mid = t0 + pd.Timedelta(minutes=30)
    lo, hi = load.index.searchsorted([t0, mid], side="left")
    po, ph = pv_native.index.searchsorted([t0, mid], side="left")
    if hi <= lo or ph <= po:
        return g
    load1 = float(load.iloc[lo:hi].mean())
    pv1 = float(pv_native.iloc[po:ph].mean())
    eff_soc, _ = step_off_grid(
        site,
        soc_pct=soc,
        supply_w=0.5 * (pv1 + g),
        demand_w=0.5 * load1,
        floor_soc_pct=site.battery.min_soc_pct if site.battery else 0.0,
    )
    g2 = generator_step_guard_w(
        site,
        soc_pct=eff_soc,
        running_w=g,
        pv_w=min(float(fc.pv_low[s]), pv1),
        load_w=max(p90_w, load1),
        keep_soc_pct=keep_soc_pct,
        step_h=0.5,
    )
    if g2 <= g:
        return g
    track.guard_starts += 1
    return 0.5 * (g + g2)


def _series(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        raise BacktestDataError(f"the plan backtest needs a {column} column")
    values = frame[column].astype(np.float64).dropna()
    if values.empty:
        raise BacktestDataError(f"{column} has no values")
    values.index = pd.DatetimeIndex(values.index).tz_convert("UTC")
    return values.sort_index()


def _apply(
    site: Site,
    track: _Track,
    *,
    pv: np.ndarray,
    load: np.ndarray,
    miner_w: np.ndarray | None = None,
    gen_w: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Step a fixed schedule through the measured hours from the track's battery:
    (unserved load [W] per hour, the same without any miners)."""
    assert site.battery is not None
    floor = site.battery.min_soc_pct
    soc = base_soc = track.soc_pct
    cut = np.zeros(len(pv))
    base = np.zeros(len(pv))
    for t in range(len(pv)):
        extra = 0.0 if miner_w is None else float(miner_w[t])
        g = 0.0 if gen_w is None else float(gen_w[t])
        soc, cut[t] = step_off_grid(
            site,
            soc_pct=soc,
            supply_w=float(pv[t] + g),
            demand_w=float(load[t] + extra),
            floor_soc_pct=floor,
        )
        base_soc, base[t] = step_off_grid(
            site,
            soc_pct=base_soc,
            supply_w=float(pv[t] + g),
            demand_w=float(load[t]),
            floor_soc_pct=floor,
        )
    track.soc_pct = soc
    return cut, base


def _score_miners(track: _Track, run_w: np.ndarray, cut_w: np.ndarray, base_w: np.ndarray) -> None:
    energy = float(run_w.sum()) / 1000.0
    outside = max(0.0, float(cut_w.sum() - base_w.sum())) / 1000.0
    track.energy_kwh += energy
    track.value_kwh += energy - outside
    track.hours_on += int(np.count_nonzero(run_w > 0))
    track.unserved_kwh += float(cut_w.sum()) / 1000.0


def _score_generator(site: Site, track: _Track, gen_w: np.ndarray, cut_w: np.ndarray) -> None:
    assert site.generator is not None
    gen = site.generator
    running = gen_w > 0
    track.fuel_l += float(
        sum(fuel_rate_lph(gen.curve, g / (gen.rated_kw * 1000.0)) for g in gen_w[running])
    )
    track.energy_kwh += float(gen_w.sum()) / 1000.0
    track.hours_on += int(np.count_nonzero(running))
    track.unserved_kwh += float(cut_w.sum()) / 1000.0


def backtest_plan(
    frame: pd.DataFrame,
    site: Site,
    *,
    kind: PlanKind,
    score_from: date | None = None,
    score_to: date | None = None,
    soc_start_pct: float | None = None,
    controller: Controller | None = None,
    on_day: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Replay ``frame`` (``pv_w`` and ``load_w`` [W], UTC index) day by day (see the
    module doc) and return the totals of ``plan``, ``hindsight`` and ``rule`` with
    ``value_captured_pct`` (miners: plan value / hindsight value; generator:
    hindsight fuel / plan fuel, both x 100) and ``avoidable_violation_hours`` (hours
    the plan left load unserved where hindsight served it all). ``load_w`` is the
    base load without the miners. Days with a missing hour of PV or load are
    skipped (and counted)."""
    ctl = controller or Controller()
    if site.battery is None:
        raise BacktestDataError("the plan backtest needs a battery (--battery-kwh)")
    if kind == "miners" and not site.miners:
        raise BacktestDataError("the miner plan backtest needs miners (--miners N)")
    if kind == "generator" and site.generator is None:
        raise BacktestDataError("the generator plan backtest needs a generator (--generator-kw)")
    if not 1 <= ctl.replan_h <= 24:
        raise BacktestDataError(f"replan_h must be within 1..24 (got {ctl.replan_h})")
    if not 0.05 <= ctl.pv_low_q <= 0.5:
        raise BacktestDataError(f"the PV quantile must be within 0.05..0.5 (got {ctl.pv_low_q})")
    pv = _series(frame, "pv_w").clip(lower=0.0)
    load = _series(frame, "load_w").clip(lower=0.0)
    tz = site.timezone
    pv_h = pv.resample("1h").mean()
    load_h = load.resample("1h").mean()
    # the first half of each hour, for the miners' half-hour guard: only a series with
    # readings of its own within the hour (an hourly value held over its steps would
    # be reading the second half too)
    pv_30 = pv.resample("30min").mean() if measured_within_hours(pv) else pv.iloc[:0]
    load_30 = load.resample("30min").mean() if measured_within_hours(load) else load.iloc[:0]
    first = max(pv.index[0], load.index[0]).tz_convert(tz).date()
    last = min(pv.index[-1], load.index[-1]).tz_convert(tz).date()
    start_day = score_from or first + timedelta(days=MIN_HISTORY_DAYS)
    end_day = min(score_to or last, last - timedelta(days=1))
    if start_day > end_day:
        raise BacktestDataError(f"no day to replay: data {first}..{last}, from {start_day}")
    # clear sky once for every forecast, and each forecast once (see _pv_forecasts)
    forecast_inputs: dict[str, Any] = {"clear_w": _clear_sky_grid(site, pv), "memo": {}}
    soc0 = site.battery.initial_soc_pct if soc_start_pct is None else soc_start_pct
    names = (
        ("plan", "hindsight", "rule", "none") if kind == "miners" else ("plan", "hindsight", "rule")
    )
    tracks = {name: _Track(soc_pct=soc0) for name in names}
    # the guard looks within the hour only at readings that are really within it
    within_ok = ctl.within_hour_guard and measured_within_hours(load)
    shortfalls: list[float] = []
    excess: list[tuple[np.ndarray, np.ndarray]] = []
    misses: list[tuple[np.ndarray, np.ndarray]] = []
    shortfalls_to_end: list[tuple[np.ndarray, np.ndarray]] = []
    avoidable_at: list[str] = []
    reserves: list[float] = []

    def day_arrays(
        d: date, n_extra: int
    ) -> tuple[pd.Timestamp, int, pd.DatetimeIndex, np.ndarray, np.ndarray]:
        start = _midnight(d, tz)
        n_day = int((_midnight(d + timedelta(days=1), tz) - start) / pd.Timedelta(hours=1))
        hours = pd.date_range(start, periods=n_day + n_extra, freq="h")
        return (
            start,
            n_day,
            hours,
            pv_h.reindex(hours).to_numpy(dtype=np.float64),
            load_h.reindex(hours).to_numpy(dtype=np.float64),
        )

    def note_error(
        d: date,
        start: pd.Timestamp,
        n_day: int,
        fc: _DayForecast,
        a_pv: np.ndarray,
        a_load: np.ndarray,
    ) -> None:
        f_load, f_p90 = _load_bands(site, load, start, n_day)
        shortfalls.append(_worst_hour_shortfall_kwh(a_pv, a_load, fc.pv_p50[:n_day], f_load))
        # the pessimistic hour the guard looks at: low PV (corrected by the day's
        # measured PV before each hour, as the controller sees it) and the load P90
        outlooks = [_nowcast(site, ctl, fc, a_pv, s) for s in range(n_day)]
        low = np.array([o.pv_low[s] for s, o in enumerate(outlooks)], dtype=np.float64)
        day_hours = pd.date_range(start, periods=n_day, freq="h")
        local = day_hours.tz_convert(tz).hour.to_numpy()
        f_high = f_p90 if ctl.load_p90 else f_load
        if ctl.load_persists:
            f_high = np.fmax(f_high, last_step_load_w(load, day_hours))
        excess.append((local, hourly_excess_kwh(a_pv, a_load, low, f_high)))
        if kind == "miners" and ctl.spill:
            misses.append(
                (local, rest_of_day_miss_kwh(a_pv, a_load, [o.pv_p50 for o in outlooks], f_load))
            )
        if kind == "miners" and (
            ctl.take_below_full or ctl.morning_take_margin or ctl.full_take_spill_margin
        ):
            # how far the day's net energy fell short of the median outlook made at each
            # hour, at its worst point before the day's end (where the battery would fill)
            shortfalls_to_end.append(
                (
                    local,
                    drawdown_miss_kwh(
                        a_pv,
                        a_load,
                        [o.pv_p50 for o in outlooks],
                        f_load,
                        ends=[n_day] * n_day,
                    ),
                )
            )

    if ctl.guard_pct is None:  # warm up on the days before the first one replayed
        for back in range(RESERVE_WINDOW_DAYS, 0, -1):
            d0 = start_day - timedelta(days=back)
            if d0 < first + timedelta(days=MIN_HISTORY_DAYS // 2):
                continue
            start, n_day, hours, w_pv, w_load = day_arrays(d0, 0)
            if np.isfinite(w_pv).all() and np.isfinite(w_load).all():
                fc0 = _pv_forecasts(site, pv, d0, start, n_day, ctl.pv_low_q, **forecast_inputs)
                note_error(d0, start, n_day, fc0, w_pv, w_load)
    drawdown_cache: dict[date, tuple[np.ndarray, np.ndarray] | None] = {}

    def drawdown_of(d: date) -> tuple[np.ndarray, np.ndarray] | None:
        """Day ``d``'s misses of the median path over the next 24 h from each hour (reads
        ``d`` and the day after: use only for days whose next day is over)."""
        if d in drawdown_cache:
            return drawdown_cache[d]
        start, n_day, hours, w_pv, w_load = day_arrays(d, MINER_HORIZON_H)
        out = None
        if np.isfinite(w_pv).all() and np.isfinite(w_load).all():
            fc0 = _pv_forecasts(site, pv, d, start, len(hours), ctl.pv_low_q, **forecast_inputs)
            f_load, _ = _load_bands(site, load, start, len(hours))
            outlooks = [_nowcast(site, ctl, fc0, w_pv, h).pv_p50 for h in range(n_day)]
            local = hours[:n_day].tz_convert(tz).hour.to_numpy()
            ends = None
            if ctl.full_take_margin_quantile is not None:  # to the morning after
                ends = [h + until_recharge(o[h:], f_load[h:]) for h, o in enumerate(outlooks)]
            out = (local, drawdown_miss_kwh(w_pv, w_load, outlooks, f_load, ends=ends))
        drawdown_cache[d] = out
        return out

    def drawdown_margin(d: date, local_h: np.ndarray) -> np.ndarray | None:
        q = ctl.headroom_quantile or ctl.full_take_margin_quantile
        if kind != "miners" or q is None:
            return None
        past = []
        for back in range(RESERVE_WINDOW_DAYS + 1, 1, -1):  # d-2 is the newest day over
            d0 = d - timedelta(days=back)
            if d0 < first + timedelta(days=MIN_HISTORY_DAYS // 2):
                continue
            got = drawdown_of(d0)
            if got is not None:
                past.append(got)
        by_hour = spill_margin_kwh_by_hour(site, past, quantile=q)
        return by_hour[local_h]

    days = skipped = no_plan = 0
    day = start_day
    total_days = (end_day - start_day).days + 1
    lookahead = MINER_HORIZON_H if kind == "miners" else GENERATOR_LOOKAHEAD_H
    while day <= end_day:
        if on_day is not None:
            on_day((day - start_day).days, total_days)
        start, n_day, hours, actual_pv, actual_load = day_arrays(day, lookahead)
        d = day
        day += timedelta(days=1)
        if not (np.isfinite(actual_pv).all() and np.isfinite(actual_load).all()):
            skipped += 1
            continue
        fc = _pv_forecasts(site, pv, d, start, len(hours), ctl.pv_low_q, **forecast_inputs)
        a_pv, a_load = actual_pv[:n_day], actual_load[:n_day]
        local_h = hours.tz_convert(tz).hour.to_numpy()
        if ctl.guard_pct is not None:
            reserve = np.full(len(hours), ctl.guard_pct)
        elif ctl.reserve_by_hour:
            by_hour = reserve_pct_by_hour(
                site,
                excess,
                quantile=ctl.hourly_reserve_quantile,
                any_hour_quantile=ctl.any_hour_quantile,
            )
            reserve = by_hour[local_h]
        else:
            worst = (
                [float(m.max()) if len(m) else 0.0 for _, m in excess]
                if ctl.reserve_from_excess
                else shortfalls
            )
            daily = reserve_pct_from_errors(site, worst, quantile=ctl.reserve_quantile)
            reserve = np.full(len(hours), daily)
        reserves.extend(float(r) for r in reserve[:n_day])
        common: dict[str, Any] = {
            "load": load,
            "fc": fc,
            "a_pv": a_pv,
            "a_load": a_load,
            "hours": hours,
            "n_day": n_day,
            "guard_pct": reserve,
        }
        if kind == "miners":
            margin = (
                spill_margin_kwh_by_hour(site, misses, quantile=ctl.spill_quantile)[local_h]
                if ctl.spill
                else None
            )
            halves = (
                (
                    pv_30.reindex(hours[:n_day]).to_numpy(dtype=np.float64),
                    load_30.reindex(hours[:n_day]).to_numpy(dtype=np.float64),
                )
                if ctl.half_hour_guard
                else None
            )
            run_w, missing = _controlled_miners(
                site,
                tracks["plan"],
                ctl,
                spill_margin_kwh=margin,
                first_half=halves,
                drawdown_margin_kwh=drawdown_margin(d, local_h),
                take_margin_kwh=spill_margin_kwh_by_hour(
                    site, shortfalls_to_end, quantile=ctl.take_margin_quantile
                )[local_h]
                if ctl.take_below_full or ctl.morning_take_margin or ctl.full_take_spill_margin
                else None,
                **common,
            )
            no_plan += missing
            hind = tracks["hindsight"]
            best_w = plan_miners(
                site,
                soc_start_pct=hind.soc_pct,
                pv_w=actual_pv,
                load_w=actual_load,
                times=hours,
            ).plan.miner_load_w.to_numpy()[:n_day]
            miners = sorted(site.miners, key=lambda m: -m.power_kw)
            count = simple_rule_miners_on(a_pv - a_load, len(miners))
            rule_w = np.array([sum(m.power_kw * 1000.0 for m in miners[: int(c)]) for c in count])
            cut_w, base_cut = _apply(site, tracks["plan"], pv=a_pv, load=a_load, miner_w=run_w)
            _score_miners(tracks["plan"], run_w, cut_w, base_cut)
            hind_cut, hind_base = _apply(site, hind, pv=a_pv, load=a_load, miner_w=best_w)
            _score_miners(hind, best_w, hind_cut, hind_base)
            rule_cut, rule_base = _apply(site, tracks["rule"], pv=a_pv, load=a_load, miner_w=rule_w)
            _score_miners(tracks["rule"], rule_w, rule_cut, rule_base)
            none_cut, _ = _apply(site, tracks["none"], pv=a_pv, load=a_load)
            # a violation: an hour the miners left load unserved that the site without
            # miners (its own battery, day after day) served
            cuts = {
                "plan": np.maximum(cut_w - none_cut, 0.0),
                "hindsight": np.maximum(hind_cut - none_cut, 0.0),
                "rule": np.maximum(rule_cut - none_cut, 0.0),
            }
        else:
            rule = rule_generator_run(
                site,
                soc_start_pct=tracks["rule"].soc_pct,
                pv_w=a_pv,
                load_w=a_load,
                times=hours[:n_day],
            ).generator_w.to_numpy()
            gen_w, short = _controlled_generator(site, tracks["plan"], ctl, pv_native=pv, **common)
            no_plan += short
            best = plan_generator(
                site,
                soc_start_pct=tracks["hindsight"].soc_pct,
                pv_w=actual_pv,
                load_w=actual_load,
                times=hours,
            ).generator_w.to_numpy()[:n_day]
            cuts = {}
            for name, g in (("plan", gen_w), ("hindsight", best), ("rule", rule)):
                cuts[name] = _apply(site, tracks[name], pv=a_pv, load=a_load, gen_w=g)[0]
                _score_generator(site, tracks[name], g, cuts[name])
        if ctl.guard_pct is None:
            note_error(d, start, n_day, fc, a_pv, a_load)
        hind_bad = cuts["hindsight"] > _TOL_W
        for name, cut in cuts.items():
            bad = cut > _TOL_W
            tracks[name].violation_hours += int(np.count_nonzero(bad))
            tracks[name].avoidable_violation_hours += int(np.count_nonzero(bad & ~hind_bad))
            if name == "plan":
                avoidable_at.extend(
                    f"{t.isoformat()} ({c / 1000.0:.2f} kWh)"
                    for t, c, b in zip(
                        hours[:n_day].tz_convert(tz), cut, bad & ~hind_bad, strict=True
                    )
                    if b
                )
        days += 1
    if days == 0:
        raise BacktestDataError(f"no complete day of PV and load between {start_day} and {end_day}")
    result: dict[str, Any] = {
        "kind": kind,
        "score_from": start_day.isoformat(),
        "score_to": end_day.isoformat(),
        "tz": tz,
        "days": days,
        "days_skipped": skipped,
        "plans_without_optimum" if kind == "miners" else "plans_short_of_floor": no_plan,
        "forecast": "PV without weather (clear sky x the site's own index), load forecast",
        "controller": {
            "replan_every_h": ctl.replan_h,
            "replan_when_soc_drifts_pct": ctl.replan_drift_pct,
            "pv_quantile_after_this_hour": ctl.pv_low_q,
            "load_after_this_hour": "P90" if ctl.load_p90 else "P50",
            "reserve_pct": ctl.reserve_pct,
            "guard": (
                "fixed"
                if ctl.guard_pct is not None
                else "per hour of day from the site's own forecast errors"
                if ctl.reserve_by_hour
                else "from the day's worst one-hour forecast error"
            ),
            "pv_corrected_by_measured_today": ctl.nowcast,
            "guard_pct_mean": round(float(np.mean(reserves)), 1),
            "guard_pct_max": round(float(np.max(reserves)), 1),
            "outlook_guard": ctl.outlook_guard,
            "miners_on_spill": kind == "miners" and ctl.spill,
            "miners_half_hour_guard": kind == "miners" and ctl.half_hour_guard,
            "miners_on_full_battery": kind == "miners" and ctl.full_take,
            "full_take_margin_quantile": ctl.full_take_margin_quantile
            if kind == "miners" and ctl.full_take
            else None,
            "full_soc_pct": ctl.full_soc_pct if kind == "miners" and ctl.full_take else None,
            "miners_carried_on_full_battery": kind == "miners" and ctl.full_carry,
            "full_take_spill_margin": kind == "miners" and ctl.full_take_spill_margin,
            "miners_morning_guard": kind == "miners" and ctl.morning_guard,
            "morning_rise_pct": ctl.morning_rise_pct
            if kind == "miners" and ctl.morning_guard
            else None,
            "miners_take_below_full": kind == "miners" and ctl.take_below_full,
            "take_margin_quantile": ctl.take_margin_quantile
            if kind == "miners" and ctl.take_below_full
            else None,
            "plan_holds_reserve": ctl.plan_holds_reserve,
            "guard_reads_last_load": ctl.load_persists,
            "guard_looks_within_hour": within_ok,
        },
        **{name: tracks[name].report(kind) for name in ("plan", "hindsight", "rule")},
    }
    mine, best_t, rule_t = tracks["plan"], tracks["hindsight"], tracks["rule"]

    def ratio(a: float, b: float) -> float | None:
        return round(100.0 * a / b, 1) if b > 0 else None

    if kind == "miners":
        result["value_captured_pct"] = ratio(mine.value_kwh, best_t.value_kwh)
        result["rule_value_captured_pct"] = ratio(rule_t.value_kwh, best_t.value_kwh)
    else:
        result["value_captured_pct"] = ratio(best_t.fuel_l, mine.fuel_l)
        result["rule_value_captured_pct"] = ratio(best_t.fuel_l, rule_t.fuel_l)
    result["avoidable_violation_hours"] = mine.avoidable_violation_hours
    result["avoidable_violations_at"] = avoidable_at[:48]
    return result
