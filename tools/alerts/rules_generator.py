"""Generator rules: fuel use per day, fuel efficiency trend, tank running low, service due.

The fuel rules are periodic (they need history) and read it through
:func:`hourly_fuel_burned_l`, which the cost rules reuse. No real generator fuel
log was available when these rules were written: they were tuned and tested on
synthetic histories from :class:`tools.devices.simulator.SimulatedSite` (a
published-shape fuel curve, see :func:`tools.site.default_fuel_curve`).

Hour conventions: the history's hourly means are labelled by the hour's start
(UTC), as the rollups are. A fuel level's hourly mean stands for the level at
the middle of the hour, so the burn attributed to hour ``t`` from the level is
what went between the middles of hours ``t-1`` and ``t``; from the burn rate it
is the mean rate of hour ``t`` times one hour (for the current, incomplete hour
when the rollups hold it, only the share before ``now``). Days are local to the
site; weeks are the 7-day windows ending at ``now``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from tools.alerts.context import History, RuleContext, RuleSpec, Verdict
from tools.site import Site

__all__ = [
    "DEFAULT_RUN_HOURS_PER_DAY",
    "EFFICIENCY_WEEKS",
    "MIN_BASELINE_WEEKS",
    "MIN_WEEK_RUN_HOURS",
    "RULES",
    "WeekEfficiency",
    "daily_fuel_burned_l",
    "fuel_efficiency_declining",
    "fuel_tank_low",
    "fuel_use_high",
    "generator_service_due",
    "hour_weights",
    "hourly_fuel_burned_l",
    "local_midnight",
    "weekly_efficiency",
]

EFFICIENCY_WEEKS = 8
"""Weeks of history the efficiency trend looks at (the last one and up to 7 before it)."""
MIN_BASELINE_WEEKS = 3
"""Earlier weeks with enough running that the efficiency trend needs for its median."""
MIN_WEEK_RUN_HOURS = 5.0
"""A week counts for the efficiency trend only with at least this many running hours [h]."""
EFFICIENCY_HYSTERESIS_PCT = 5.0
"""An open efficiency alert clears only this many points below the threshold [%]."""
TANK_AVERAGE_DAYS = 7
"""The daily burn behind "days of fuel left" is the average of this many recent days."""
MIN_AVERAGE_DAYS = 1.0
"""History shorter than this [d] is not averaged; the current burn rate is used instead."""
DEFAULT_RUN_HOURS_PER_DAY = 8.0
"""Running hours per day assumed with the current rate when history cannot tell [h]."""
TANK_HYSTERESIS_DAYS = 0.5
"""An open tank alert clears (or drops from critical) only this much above a threshold [d]."""
TANK_CRITICAL_DAYS = 1.0
SERVICE_SOON_SHARE = 0.9
"""Run-hours since service above this share of the interval give an info alert."""


def local_midnight(now: datetime, tz: ZoneInfo) -> datetime:
    """The start (UTC) of the local day containing ``now``."""
    day = now.astimezone(tz).date()
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _fuel_level_l(history: History, site: Site) -> pd.Series:
    level = history.hourly_mean("generator_fuel_l").dropna()
    if level.empty and site.generator is not None:
        pct = history.hourly_mean("fuel_level_pct").dropna()
        level = pct * site.generator.tank_l / 100.0
    return level.sort_index()


def hour_weights(index: pd.DatetimeIndex, now: datetime | None) -> pd.Series:
    """The share of each hour (labelled by its start) that lies before ``now``, in [0, 1]."""
    if now is None:
        return pd.Series(1.0, index=index)
    elapsed_h = (pd.Timestamp(now) - index).total_seconds().to_numpy() / 3600.0
    return pd.Series(np.clip(elapsed_h, 0.0, 1.0), index=index)


def hourly_fuel_burned_l(history: History, site: Site, *, now: datetime | None = None) -> pd.Series:
    """Fuel burned per hour [L], indexed by the hour (UTC), from the history.

    From the tank level (``generator_fuel_l``, else ``fuel_level_pct`` of the
    tank) when it has two or more hours: each drop between consecutive hourly
    means is burn, spread evenly over a gap in the data; a rise is a refill and
    counts no burn (in that hour the burn rate's mean is used when the rate is
    known). Without a level (and for hours outside the level's span), the hourly
    means of ``generator_fuel_rate_lph`` times the hour (the share of it before
    ``now`` for the current hour). Empty when neither is known.

    A level that drops while the generator is stopped (a leak, or theft) counts
    as burned; noise in a level sensor adds a little.
    """
    rate = history.hourly_mean("generator_fuel_rate_lph").dropna().sort_index()
    rate_l = rate * hour_weights(rate.index, now)
    level = _fuel_level_l(history, site)
    if len(level) < 2:
        return rate_l.rename("fuel_burned_l")
    grid = level.resample("1h").mean().interpolate(method="time", limit_area="inside")
    drop = -grid.diff().iloc[1:]
    burned = drop.clip(lower=0.0)
    refills = drop.index[drop < 0]
    if len(refills) and not rate_l.empty:
        burned.loc[refills] = rate_l.reindex(refills).fillna(0.0).to_numpy()
    # Hours the level does not span (it started later, or stopped) come from the rate.
    outside = rate_l[(rate_l.index < grid.index[0]) | (rate_l.index > grid.index[-1])]
    if not outside.empty:
        burned = pd.concat([burned, outside]).sort_index()
    return burned.rename("fuel_burned_l")


def _name(site: Site) -> str:
    """The generator's name for the start of a sentence."""
    name = site.generator.name if site.generator is not None else "generator"
    return name[:1].upper() + name[1:]


def _window_sum(series: pd.Series, start: datetime, end: datetime) -> float:
    """Sum of the values indexed in ``[start, end)``."""
    return float(series[(series.index >= start) & (series.index < end)].sum())


def daily_fuel_burned_l(burned: pd.Series, tz: ZoneInfo) -> pd.Series:
    """Hourly burn [L] summed per local calendar day (index: ``datetime.date``)."""
    if burned.empty:
        return pd.Series(dtype="float64")
    days = burned.index.tz_convert(tz).date
    return burned.groupby(days).sum()


def fuel_use_high(ctx: RuleContext) -> list[Verdict]:
    """Warning when the fuel burned so far this local day exceeds ``fuel_l_per_day_max``.

    ``value`` is today's litres. The total only grows during a day, so the alert
    resolves at local midnight (a new day starts from zero). No verdict without
    a generator, history or any fuel data.
    """
    site, history = ctx.site, ctx.history
    if site.generator is None or history is None:
        return []
    burned = hourly_fuel_burned_l(history, site, now=ctx.now)
    if burned.empty:
        return []
    tz = site.tz
    today_start = local_midnight(ctx.now, tz)
    today_l = _window_sum(burned, today_start, ctx.now)
    limit = ctx.thresholds.fuel_l_per_day_max
    rule = "fuel_use_high"
    if today_l <= limit:
        return [Verdict(rule=rule, active=False, value=today_l, category="generator")]
    week = burned[(burned.index >= today_start - timedelta(days=7)) & (burned.index < today_start)]
    daily = daily_fuel_burned_l(week, tz)
    summary = f"{_name(site)} has burned {today_l:.1f} L today (limit {limit:g} L/day)."
    evidence: list[tuple[str, str]] = [("Today", f"{today_l:.1f} L")]
    if not daily.empty:
        summary += f" The 7 days before averaged {float(daily.mean()):.1f} L/day."
        evidence.append(("Previous days (avg)", f"{float(daily.mean()):.1f} L/day"))
    rate = ctx.state.get("generator_fuel_rate_lph")
    if rate is not None:
        evidence.append(("Burn rate now", f"{rate:.2f} L/h"))
    return [
        Verdict(
            rule=rule,
            active=True,
            severity="warning",
            title=f"High fuel use at {site.display_name}",
            summary=summary,
            value=today_l,
            category="generator",
            evidence=tuple(evidence),
        )
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class WeekEfficiency:
    """One week of generator running: ``[start, end)`` in UTC, fuel [L], energy [kWh], hours."""

    start: datetime
    end: datetime
    fuel_l: float
    energy_kwh: float
    run_h: float

    @property
    def l_per_kwh(self) -> float:
        return self.fuel_l / self.energy_kwh if self.energy_kwh > 0 else math.nan


def weekly_efficiency(
    history: History, site: Site, *, now: datetime, weeks: int = EFFICIENCY_WEEKS
) -> list[WeekEfficiency]:
    """Fuel, generator energy and running hours for each of the ``weeks`` 7-day windows
    ending at ``now`` (oldest first).

    Energy is the hourly mean of ``generator_power_w`` times one hour. Running hours
    are the hourly means of ``generator_running`` (a share of the hour), or, without
    it, the hours with generator power.
    """
    burned = hourly_fuel_burned_l(history, site, now=now)
    power_w = history.hourly_mean("generator_power_w").dropna()
    power_w = power_w * hour_weights(power_w.index, now)
    running = history.hourly_mean("generator_running").dropna()
    if running.empty:
        running = (power_w > 0).astype("float64")
    running = running * hour_weights(running.index, now)
    out: list[WeekEfficiency] = []
    for k in range(weeks, 0, -1):
        start = now - timedelta(days=7 * k)
        end = start + timedelta(days=7)
        out.append(
            WeekEfficiency(
                start=start,
                end=end,
                fuel_l=_window_sum(burned, start, end),
                energy_kwh=_window_sum(power_w, start, end) / 1000.0,
                run_h=_window_sum(running, start, end),
            )
        )
    return out


def fuel_efficiency_declining(ctx: RuleContext) -> list[Verdict]:
    """Warning when the last week's L/kWh is worse than the median of earlier weeks by
    more than ``fuel_efficiency_decline_pct``.

    Weeks are 7-day windows ending at ``ctx.now`` over :data:`EFFICIENCY_WEEKS`;
    only weeks with :data:`MIN_WEEK_RUN_HOURS` of running count. No verdict unless
    the last week and :data:`MIN_BASELINE_WEEKS` earlier weeks count. ``value`` is
    the decline [%]. An open alert clears :data:`EFFICIENCY_HYSTERESIS_PCT` points
    below the threshold.
    """
    site, history = ctx.site, ctx.history
    if site.generator is None or history is None:
        return []
    weeks = weekly_efficiency(history, site, now=ctx.now)
    usable = [w for w in weeks if w.run_h >= MIN_WEEK_RUN_HOURS and w.energy_kwh > 0]
    last = weeks[-1]
    earlier = [w for w in usable if w is not last]
    if last not in usable or len(earlier) < MIN_BASELINE_WEEKS:
        return []
    baseline = float(pd.Series([w.l_per_kwh for w in earlier]).median())
    if not baseline > 0:
        return []
    decline_pct = (last.l_per_kwh / baseline - 1.0) * 100.0
    rule = "fuel_efficiency_declining"
    threshold = ctx.thresholds.fuel_efficiency_decline_pct
    if ctx.current(rule) is not None:
        threshold = max(threshold - EFFICIENCY_HYSTERESIS_PCT, 0.0)
    if decline_pct <= threshold:
        return [Verdict(rule=rule, active=False, value=decline_pct, category="generator")]
    tz = site.tz

    def label(w: WeekEfficiency) -> str:
        return f"week to {w.end.astimezone(tz):%Y-%m-%d}"

    figures = "; ".join(
        f"{label(w)}: {w.l_per_kwh:.3f} L/kWh ({w.fuel_l:.0f} L, {w.energy_kwh:.0f} kWh, "
        f"{w.run_h:.0f} h)"
        for w in usable
    )
    summary = (
        f"{_name(site)} used {last.l_per_kwh:.3f} L/kWh in the last week, "
        f"{decline_pct:.0f} % more than the median {baseline:.3f} L/kWh of the "
        f"{len(earlier)} weeks before (threshold {ctx.thresholds.fuel_efficiency_decline_pct:g} "
        f"%). Weekly figures: {figures}. Check the air and fuel filters, injectors and "
        "the fuel meter."
    )
    evidence = tuple((label(w), f"{w.l_per_kwh:.3f} L/kWh over {w.run_h:.0f} h") for w in usable)
    return [
        Verdict(
            rule=rule,
            active=True,
            severity="warning",
            title=f"Generator fuel efficiency declining at {site.display_name}",
            summary=summary,
            value=decline_pct,
            category="generator",
            evidence=evidence,
        )
    ]


def _fuel_left_l(ctx: RuleContext) -> float | None:
    fuel = ctx.state.get("generator_fuel_l")
    if fuel is not None:
        return fuel
    pct = ctx.state.get("fuel_level_pct")
    if pct is not None and ctx.site.generator is not None:
        return pct * ctx.site.generator.tank_l / 100.0
    return None


def _daily_burn(ctx: RuleContext) -> tuple[float, str] | None:
    """Average daily burn [L/d] and how it was estimated, or None when nothing tells.

    With at least :data:`MIN_AVERAGE_DAYS` of history: the recent average, or (when the
    history shows no burn) the current rate times the running hours a day seen, or zero
    when the generator is not burning now either. With less history: the current rate
    while it burns, else None.
    """
    history, site, now = ctx.history, ctx.site, ctx.now
    rate = ctx.state.get("generator_fuel_rate_lph")
    run_h_per_day: float | None = None
    if history is not None:
        burned = hourly_fuel_burned_l(history, site, now=now)
        running = history.hourly_mean("generator_running").dropna()
        since = now - timedelta(days=TANK_AVERAGE_DAYS)
        starts = [s.index.min() for s in (burned, running) if not s.empty]
        days = (
            (now - max(min(starts).to_pydatetime(), since)).total_seconds() / 86400.0
            if starts
            else 0.0
        )
        if days >= MIN_AVERAGE_DAYS:
            total = _window_sum(burned, since, now)
            if total > 0:
                return total / days, f"average of the last {days:.1f} days"
            run_h_per_day = _window_sum(running, since, now) / days
            if rate is None or rate <= 0:
                return 0.0, f"nothing burned in the last {days:.1f} days"
    if rate is None or rate <= 0:
        return None
    hours = run_h_per_day or DEFAULT_RUN_HOURS_PER_DAY
    how = f"current rate {rate:.2f} L/h for {hours:.1f} h a day"
    if not run_h_per_day:
        how += " (assumed)"
    return rate * hours, how


def fuel_tank_low(ctx: RuleContext) -> list[Verdict]:
    """Warning when the fuel left lasts fewer than ``fuel_low_days`` at the recent daily burn;
    critical below :data:`TANK_CRITICAL_DAYS` (or with an empty tank).

    Daily burn: the average over the last :data:`TANK_AVERAGE_DAYS` days of history;
    when that shows no burn or covers less than a day, the current burn rate times the
    running hours per day seen (or :data:`DEFAULT_RUN_HOURS_PER_DAY`). ``value`` is the
    days left (None when nothing is being burned). No verdict without a fuel level, or
    without history and a burning generator.
    """
    site = ctx.site
    gen = site.generator
    if gen is None:
        return []
    fuel_l = _fuel_left_l(ctx)
    burn = _daily_burn(ctx)
    if fuel_l is None or burn is None:
        return []
    per_day, how = burn
    rule = "fuel_tank_low"
    days = fuel_l / per_day if per_day > 0 else (math.inf if fuel_l > 0 else 0.0)
    current = ctx.current(rule)
    warn_below = ctx.thresholds.fuel_low_days + (TANK_HYSTERESIS_DAYS if current else 0.0)
    crit_below = TANK_CRITICAL_DAYS + (TANK_HYSTERESIS_DAYS if current == "critical" else 0.0)
    if days >= warn_below and fuel_l > 0:
        value = None if math.isinf(days) else days
        return [Verdict(rule=rule, active=False, value=value, category="generator")]
    critical = days < crit_below or fuel_l <= 0
    if fuel_l <= 0:
        summary = f"The {gen.name} tank is empty ({gen.tank_l:g} L tank). Refuel."
    else:
        summary = (
            f"About {days:.1f} days of fuel left in the {gen.name} tank: {fuel_l:.0f} L of "
            f"{gen.tank_l:g} L at {per_day:.1f} L/day ({how}). Order fuel."
        )
    return [
        Verdict(
            rule=rule,
            active=True,
            severity="critical" if critical else "warning",
            title=f"Generator fuel {'critically ' if critical else ''}low at {site.display_name}",
            summary=summary,
            value=days,
            category="generator",
            evidence=(
                ("Fuel left", f"{fuel_l:.0f} L of {gen.tank_l:g} L"),
                ("Daily burn", f"{per_day:.1f} L/day ({how})"),
                ("Days left", f"{days:.1f}"),
            ),
        )
    ]


def generator_service_due(ctx: RuleContext) -> list[Verdict]:
    """Run-hours since the last service against ``generator_service_interval_h``.

    Warning when past the interval, info within the last 10 % of it. No verdict
    without a generator, an interval, a run-hours reading, or when the counter is
    below ``generator_last_service_h`` (a replaced counter: the setting is stale).
    ``value`` is the run-hours since the service.
    """
    site, t = ctx.site, ctx.thresholds
    gen = site.generator
    interval = t.generator_service_interval_h
    hours = ctx.state.get("generator_run_hours_h")
    if gen is None or interval is None or hours is None:
        return []
    since = hours - t.generator_last_service_h
    if since < 0:
        return []
    rule = "generator_service_due"
    if since < SERVICE_SOON_SHARE * interval:
        return [Verdict(rule=rule, active=False, value=since, category="generator")]
    overdue = since > interval
    if overdue:
        summary = (
            f"{_name(site)} is due for service: {since:.0f} run-hours since the last one at "
            f"{t.generator_last_service_h:g} h (interval {interval:g} h, "
            f"{since - interval:.0f} h over)."
        )
    else:
        summary = (
            f"{_name(site)} service due soon: {since:.0f} of {interval:g} run-hours used, "
            f"{interval - since:.0f} h left."
        )
    summary += " After the service, set generator_last_service_h to the counter reading."
    return [
        Verdict(
            rule=rule,
            active=True,
            severity="warning" if overdue else "info",
            title=f"Generator service {'due' if overdue else 'due soon'} at {site.display_name}",
            summary=summary,
            value=since,
            category="generator",
            evidence=(
                ("Run-hours counter", f"{hours:.0f} h"),
                ("Last service at", f"{t.generator_last_service_h:g} h"),
                ("Service interval", f"{interval:g} h"),
            ),
        )
    ]


RULES: tuple[RuleSpec, ...] = (
    RuleSpec(name="fuel_use_high", category="generator", fn=fuel_use_high, schedule="periodic"),
    RuleSpec(
        name="fuel_efficiency_declining",
        category="generator",
        fn=fuel_efficiency_declining,
        schedule="periodic",
    ),
    RuleSpec(name="fuel_tank_low", category="generator", fn=fuel_tank_low, schedule="periodic"),
    RuleSpec(name="generator_service_due", category="generator", fn=generator_service_due),
)
