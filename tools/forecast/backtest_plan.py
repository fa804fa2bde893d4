"""Plans scored against hindsight: replay a recorded history day by day (pure, no I/O).

Every local day (site zone) the plan is made at midnight on the forecasts that
were available then (PV without weather and the load forecast, from the data
before midnight only), applied to what really happened that day (measured PV
and load through :func:`~tools.forecast.battery.project_soc`, off-grid), and
compared with

- **hindsight**: the same optimiser fed the day's measured PV and load (perfect
  foresight: the most the plan could have got), and
- **the simple rule** the README compares against, reacting to what happens
  (miners: by the measured surplus; generator: start near the floor, stop at 90 %).

Each of the three carries its own battery state from day to day. The plan is
remade every ``replan_h`` hours on the measured battery state and a fresh load
forecast (PV keeps the morning's forecast: there is no weather), as the live
assistant re-plans when asked; the miner plan looks :data:`MINER_LOOKAHEAD_H`
hours past midnight (the night goes on) and the generator plan 24 h, the first
day being applied.

Miners: the value of a schedule is the miner energy the site could really carry
(miner kWh minus the energy the miners had to take from outside: load left
unserved beyond what the base load alone would have left). A *floor violation*
is an hour where the miners left load unserved (the battery at its minimum)
that the base load alone would not have.

Generator: the plan is made over 48 h (as live) at ``min_soc + plan_reserve_pct``
and its first day applied; fuel comes from the site's curve. A *floor
violation* is an hour with load left unserved; those that hindsight avoids are
counted apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from tools.devices.simulator import fuel_rate_lph
from tools.forecast.backtest import BacktestDataError
from tools.forecast.battery import SocProjection, project_soc
from tools.forecast.load import forecast_load
from tools.forecast.plans import (
    PlanError,
    plan_generator,
    plan_miners,
    rule_generator_run,
    simple_rule_miners_on,
)
from tools.forecast.pv import forecast_without_weather_bands
from tools.site import Site

__all__ = ["MIN_HISTORY_DAYS", "PlanKind", "backtest_plan"]

PlanKind = Literal["miners", "generator"]
MIN_HISTORY_DAYS = 28
"""Days of data before the first replayed day when ``score_from`` is None."""
_TOL_W = 1.0
MINER_LOOKAHEAD_H = 12
"""The miner plan looks this far past midnight (the night goes on), applying its first day."""


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

    def report(self, kind: PlanKind) -> dict[str, Any]:
        out: dict[str, Any] = {"floor_violation_hours": self.violation_hours}
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
                "unserved_kwh": round(self.unserved_kwh, 2),
            }
        return out


def _project(
    site: Site,
    soc_pct: float,
    pv: np.ndarray,
    load: np.ndarray,
    hours: pd.DatetimeIndex,
    *,
    extra_w: np.ndarray | None = None,
    generator_w: np.ndarray | None = None,
) -> SocProjection:
    return project_soc(
        site,
        soc_start_pct=soc_pct,
        pv_w=pv,
        load_w=load,
        extra_load_w=extra_w,
        generator_w=generator_w,
        times=hours,
        grid_present=False,
    )


def _forecasts(
    site: Site,
    pv: pd.Series,
    load: pd.Series,
    day: date,
    start: pd.Timestamp,
    n_hours: int,
    pv_quantile: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """PV and load P50 [W] for ``n_hours`` hours from ``start``, from data before it."""
    hours = pd.date_range(start, periods=n_hours, freq="h")
    pv_hist = pv[pv.index < start]
    parts = []
    for k in range((n_hours + 23) // 24 + 1):
        fc = forecast_without_weather_bands(
            site, pv_hist, day + timedelta(days=k), quantiles_q=(pv_quantile,)
        )[0]
        parts.append(fc.resample("1h").mean())
    pv_fc = pd.concat(parts)
    pv_fc = pv_fc[~pv_fc.index.duplicated()].reindex(hours).fillna(0.0).clip(lower=0.0)
    load_fc = forecast_load(load[load.index < start], start=start, hours=n_hours, tz=site.timezone)
    load_p50 = load_fc.p50_w.reindex(hours).ffill().bfill().fillna(0.0)
    return pv_fc.to_numpy(dtype=np.float64), load_p50.to_numpy(dtype=np.float64)


def _guarded(
    site: Site,
    soc_pct: float,
    miner_w: np.ndarray,
    pv: np.ndarray,
    load: np.ndarray,
    hours: pd.DatetimeIndex,
    unit_w: np.ndarray,
) -> np.ndarray:
    """The schedule as the executor runs it: each hour, miners (largest first) are shed
    until they no longer need energy the battery cannot give above its minimum."""
    out = np.zeros(len(miner_w))
    soc = soc_pct
    for t in range(len(miner_w)):
        want = float(miner_w[t])
        one = slice(t, t + 1)
        base = _project(site, soc, pv[one], load[one], hours[one])
        step = base
        for shed in [0.0, *np.cumsum(unit_w)]:
            running = max(0.0, want - float(shed))
            trial = _project(site, soc, pv[one], load[one], hours[one], extra_w=np.array([running]))
            if trial.unserved_wh <= base.unserved_wh + _TOL_W or running == 0.0:
                out[t], step = running, trial
                break
        soc = step.end_soc_pct
    return out


def _miner_day(
    site: Site,
    track: _Track,
    miner_w: np.ndarray,
    pv: np.ndarray,
    load: np.ndarray,
    hours: pd.DatetimeIndex,
) -> None:
    """Apply a miner schedule to the measured day: as planned (floor violations) and as
    the executor would run it with its floor guard (value, next day's battery)."""
    base = _project(site, track.soc_pct, pv, load, hours)
    planned = _project(site, track.soc_pct, pv, load, hours, extra_w=miner_w)
    extra_unserved = planned.unserved_w.to_numpy() - base.unserved_w.to_numpy()
    track.violation_hours += int(np.count_nonzero(extra_unserved > _TOL_W))
    units = np.array(sorted((m.power_kw * 1000.0 for m in site.miners), reverse=True))
    run_w = _guarded(site, track.soc_pct, miner_w, pv, load, hours, units)
    proj = _project(site, track.soc_pct, pv, load, hours, extra_w=run_w)
    energy = float(run_w.sum()) / 1000.0
    outside = max(0.0, proj.unserved_wh - base.unserved_wh) / 1000.0
    track.energy_kwh += energy
    track.value_kwh += energy - outside
    track.hours_on += int(np.count_nonzero(run_w > 0))
    track.guard_shed_kwh += float(miner_w.sum() - run_w.sum()) / 1000.0
    track.soc_pct = proj.end_soc_pct


def _generator_day(
    site: Site,
    track: _Track,
    gen_w: np.ndarray,
    pv: np.ndarray,
    load: np.ndarray,
    hours: pd.DatetimeIndex,
) -> np.ndarray:
    """Apply a generator schedule to the measured day; returns the unserved hours."""
    assert site.generator is not None
    gen = site.generator
    proj = _project(site, track.soc_pct, pv, load, hours, generator_w=gen_w)
    running = gen_w > 0
    track.fuel_l += float(
        sum(fuel_rate_lph(gen.curve, g / (gen.rated_kw * 1000.0)) for g in gen_w[running])
    )
    track.energy_kwh += float(gen_w.sum()) / 1000.0
    track.hours_on += int(np.count_nonzero(running))
    unserved = proj.unserved_w.to_numpy() > _TOL_W
    track.violation_hours += int(np.count_nonzero(unserved))
    track.unserved_kwh += proj.unserved_wh / 1000.0
    track.soc_pct = proj.end_soc_pct
    return unserved


def _load_p50(site: Site, load: pd.Series, start: pd.Timestamp, n_hours: int) -> np.ndarray:
    fc = forecast_load(load[load.index < start], start=start, hours=n_hours, tz=site.timezone)
    return fc.p50_w.ffill().bfill().fillna(0.0).to_numpy(dtype=np.float64)


def _replanned_miners(
    site: Site,
    soc_pct: float,
    *,
    load: pd.Series,
    fc_pv: np.ndarray,
    fc_load: np.ndarray,
    a_pv: np.ndarray,
    a_load: np.ndarray,
    hours: pd.DatetimeIndex,
    min_soc_pct: float,
    replan_h: int,
) -> np.ndarray:
    """The miner load [W] of the day when the plan is remade every ``replan_h`` hours
    on the measured battery state and a fresh load forecast (PV: the morning's)."""
    n = len(hours)
    n_day = n - MINER_LOOKAHEAD_H
    out = np.zeros(n_day)
    soc = soc_pct
    for s in range(0, n_day, replan_h):
        seg = slice(s, min(s + replan_h, n_day))
        rest_load = fc_load[s:] if s == 0 else _load_p50(site, load, hours[s], n - s)
        planned = plan_miners(
            site,
            soc_start_pct=soc,
            pv_w=fc_pv[s:n],
            load_w=rest_load,
            min_soc_pct=min_soc_pct,
            times=hours[s:],
        )
        out[seg] = planned.plan.miner_load_w.to_numpy()[: seg.stop - s]
        soc = _project(site, soc, a_pv[seg], a_load[seg], hours[seg], extra_w=out[seg]).end_soc_pct
    return out


def _replanned_generator(
    site: Site,
    soc_pct: float,
    *,
    load: pd.Series,
    fc_pv: np.ndarray,
    fc_load: np.ndarray,
    a_pv: np.ndarray,
    a_load: np.ndarray,
    hours: pd.DatetimeIndex,
    n_day: int,
    replan_h: int,
) -> np.ndarray:
    """The generator output [W] of the day's first ``n_day`` hours, re-planned every
    ``replan_h`` hours over the rest of the 48 h horizon on the measured battery."""
    assert site.battery is not None and site.generator is not None
    floor = site.battery.min_soc_pct
    target = min(floor + site.generator.plan_reserve_pct, 95.0)
    n = len(hours)
    out = np.zeros(n_day)
    soc = soc_pct
    running = False
    for s in range(0, n_day, replan_h):
        seg = slice(s, min(s + replan_h, n_day))
        rest_load = fc_load[s:] if s == 0 else _load_p50(site, load, hours[s], n - s)
        common: dict[str, Any] = {
            "soc_start_pct": soc,
            "pv_w": fc_pv[s:n],
            "load_w": rest_load,
            "running_now": running,
            "times": hours[s:],
        }
        planned = plan_generator(site, min_soc_pct=target, **common)
        if target > floor and not planned.feasible:
            planned = plan_generator(site, **common)
        out[seg] = planned.generator_w.to_numpy()[: seg.stop - s]
        running = bool(out[seg.stop - 1] > 0)
        soc = _project(
            site, soc, a_pv[seg], a_load[seg], hours[seg], generator_w=out[seg]
        ).end_soc_pct
    return out


def _series(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        raise BacktestDataError(f"the plan backtest needs a {column} column")
    values = frame[column].astype(np.float64).dropna()
    if values.empty:
        raise BacktestDataError(f"{column} has no values")
    values.index = pd.DatetimeIndex(values.index).tz_convert("UTC")
    return values.sort_index()


def backtest_plan(
    frame: pd.DataFrame,
    site: Site,
    *,
    kind: PlanKind,
    score_from: date | None = None,
    score_to: date | None = None,
    soc_start_pct: float | None = None,
    miner_reserve_pct: float = 0.0,
    pv_quantile: float = 0.5,
    replan_h: int = 24,
    on_day: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Replay ``frame`` (``pv_w`` and ``load_w`` [W], UTC index) day by day (see the
    module doc) and return the totals of ``plan``, ``hindsight`` and ``rule`` with
    ``value_captured_pct`` (miners: plan value / hindsight value; generator:
    hindsight fuel / plan fuel, both x 100) and ``avoidable_violation_hours`` (plan
    floor violations in hours where hindsight had none). ``load_w`` is the base load
    without the miners. Days with a missing hour of PV or load are skipped (and
    counted)."""
    if site.battery is None:
        raise BacktestDataError("the plan backtest needs a battery (--battery-kwh)")
    if kind == "miners" and not site.miners:
        raise BacktestDataError("the miner plan backtest needs miners (--miners N)")
    if kind == "generator" and site.generator is None:
        raise BacktestDataError("the generator plan backtest needs a generator (--generator-kw)")
    pv = _series(frame, "pv_w").clip(lower=0.0)
    load = _series(frame, "load_w").clip(lower=0.0)
    tz = site.timezone
    pv_h = pv.resample("1h").mean()
    load_h = load.resample("1h").mean()
    first = max(pv.index[0], load.index[0]).tz_convert(tz).date()
    last = min(pv.index[-1], load.index[-1]).tz_convert(tz).date()
    start_day = score_from or first + timedelta(days=MIN_HISTORY_DAYS)
    end_day = min(score_to or last, last - timedelta(days=1))
    if not 1 <= replan_h <= 24:
        raise BacktestDataError(f"replan_h must be within 1..24 (got {replan_h})")
    if start_day > end_day:
        raise BacktestDataError(f"no day to replay: data {first}..{last}, from {start_day}")
    soc0 = site.battery.initial_soc_pct if soc_start_pct is None else soc_start_pct
    tracks = {name: _Track(soc_pct=soc0) for name in ("plan", "hindsight", "rule")}
    floor = site.battery.min_soc_pct
    days = skipped = failed = 0
    day = start_day
    total_days = (end_day - start_day).days + 1
    while day <= end_day:
        if on_day is not None:
            on_day((day - start_day).days, total_days)
        start = _midnight(day, tz)
        n_day = int((_midnight(day + timedelta(days=1), tz) - start) / pd.Timedelta(hours=1))
        horizon = n_day + (24 if kind == "generator" else MINER_LOOKAHEAD_H)
        hours = pd.date_range(start, periods=horizon, freq="h")
        actual_pv = pv_h.reindex(hours).to_numpy(dtype=np.float64)
        actual_load = load_h.reindex(hours).to_numpy(dtype=np.float64)
        today = slice(0, n_day)
        d = day
        day += timedelta(days=1)
        if not (np.isfinite(actual_pv).all() and np.isfinite(actual_load).all()):
            skipped += 1
            continue
        fc_pv, fc_load = _forecasts(site, pv, load, d, start, horizon, pv_quantile)
        day_hours = hours[today]
        a_pv, a_load = actual_pv[today], actual_load[today]
        if kind == "miners":
            try:
                plan_w = _replanned_miners(
                    site,
                    tracks["plan"].soc_pct,
                    load=load,
                    fc_pv=fc_pv,
                    fc_load=fc_load,
                    a_pv=actual_pv,
                    a_load=actual_load,
                    hours=hours,
                    min_soc_pct=min(floor + miner_reserve_pct, 95.0),
                    replan_h=replan_h,
                )
            except PlanError:  # the optimiser found no plan: no miners that day
                plan_w = np.zeros(n_day)
                failed += 1
            schedules = {
                "plan": plan_w,
                "hindsight": plan_miners(
                    site,
                    soc_start_pct=tracks["hindsight"].soc_pct,
                    pv_w=actual_pv,
                    load_w=actual_load,
                    times=hours,
                ).plan.miner_load_w.to_numpy()[today],
            }
            miners = sorted(site.miners, key=lambda m: -m.power_kw)
            count = simple_rule_miners_on(a_pv - a_load, len(miners))
            schedules["rule"] = np.array(
                [sum(m.power_kw * 1000.0 for m in miners[: int(c)]) for c in count]
            )
            for name, miner_w in schedules.items():
                _miner_day(site, tracks[name], miner_w, a_pv, a_load, day_hours)
        else:
            rule = rule_generator_run(
                site,
                soc_start_pct=tracks["rule"].soc_pct,
                pv_w=a_pv,
                load_w=a_load,
                times=day_hours,
            )
            try:
                planned_w = _replanned_generator(
                    site,
                    tracks["plan"].soc_pct,
                    load=load,
                    fc_pv=fc_pv,
                    fc_load=fc_load,
                    a_pv=actual_pv,
                    a_load=actual_load,
                    hours=hours,
                    n_day=n_day,
                    replan_h=replan_h,
                )
            except PlanError:  # no plan: the site falls back on the simple rule that day
                planned_w = rule.generator_w.to_numpy()
                failed += 1
            hindsight = plan_generator(
                site,
                soc_start_pct=tracks["hindsight"].soc_pct,
                pv_w=actual_pv,
                load_w=actual_load,
                times=hours,
            )
            hind_bad = _generator_day(
                site,
                tracks["hindsight"],
                hindsight.generator_w.to_numpy()[today],
                a_pv,
                a_load,
                day_hours,
            )
            for name, gen_w in (
                ("plan", planned_w),
                ("rule", rule.generator_w.to_numpy()),
            ):
                bad = _generator_day(site, tracks[name], gen_w, a_pv, a_load, day_hours)
                tracks[name].avoidable_violation_hours += int(np.count_nonzero(bad & ~hind_bad))
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
        "days_without_plan": failed,
        "forecast": "PV without weather (clear sky x the site's own index), load forecast",
        "replan_every_h": replan_h,
        **{name: track.report(kind) for name, track in tracks.items()},
    }
    mine, best = tracks["plan"], tracks["hindsight"]
    if kind == "miners":
        result["value_captured_pct"] = (
            round(100.0 * mine.value_kwh / best.value_kwh, 1) if best.value_kwh > 0 else None
        )
        result["rule_value_captured_pct"] = (
            round(100.0 * tracks["rule"].value_kwh / best.value_kwh, 1)
            if best.value_kwh > 0
            else None
        )
        result["avoidable_violation_hours"] = mine.violation_hours  # hindsight has none
    else:
        result["value_captured_pct"] = (
            round(100.0 * best.fuel_l / mine.fuel_l, 1) if mine.fuel_l > 0 else None
        )
        result["rule_value_captured_pct"] = (
            round(100.0 * best.fuel_l / tracks["rule"].fuel_l, 1)
            if tracks["rule"].fuel_l > 0
            else None
        )
        result["avoidable_violation_hours"] = mine.avoidable_violation_hours
        result["rule"]["avoidable_violation_hours"] = tracks["rule"].avoidable_violation_hours
    return result
