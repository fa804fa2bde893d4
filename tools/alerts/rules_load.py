"""Load rules: site consumption too high now, too much today, or unusual for the hour.

- :func:`high_load` (every telemetry batch): ``load_power_w`` above
  ``thresholds.high_load_kw``; clears 5 % below it.
- :func:`daily_energy_high` (periodic): consumption since local midnight above
  ``thresholds.daily_energy_kwh_max``, with a projection to midnight at the
  recent pace.
- :func:`consumption_anomaly` (periodic): the last complete hour's mean load
  against the same local hour on comparable days (same weekday, or weekdays /
  weekends) of the previous weeks, by a robust z-score
  ``(x − median) / (1.4826 · MAD)`` with a floor on the spread.

Powers [W] inside, [kW] and [kWh] in summaries; times UTC, local for display.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np
import pandas as pd

from tools.alerts.context import History, RuleContext, RuleSpec, Severity, Verdict
from tools.site import Site

__all__ = [
    "ANOMALY_Z",
    "RULES",
    "Baseline",
    "consumption_anomaly",
    "daily_energy_high",
    "high_load",
    "hourly_baseline",
]

HIGH_LOAD_HYSTERESIS = 0.05
"""An open high-load alert clears at or below ``(1 − 5 %)`` of the limit."""
PACE_HOURS = 3
"""The projection to midnight continues the mean load of the last hours."""

ANOMALY_Z = 4.0
"""Robust z-score above which an hour is anomalous."""
ANOMALY_Z_CLEAR = 3.0
"""An open anomaly alert clears at or below this z-score (hysteresis)."""
ANOMALY_Z_WARNING = 6.0
"""At or above this (load higher than usual) the anomaly is a warning, else info."""
MAD_SCALE = 1.4826
"""MAD × this = standard deviation for normal data."""
SPREAD_FLOOR_W = 700.0
SPREAD_FLOOR_SHARE = 0.2
"""The spread (1.4826·MAD) is at least ``max(700 W, 20 % of the median)``, so an hour must
be at least 2.8 kW (or 80 % of the usual) away to count. Without the floor a load that is
nearly the same every night turns a kettle into an anomaly; the absolute part is sized on
a real household whose ordinary life has one-hour bursts of 2-3 kW in ~1-2 % of hours
(see the tests), where a smaller floor alarms several times a week."""
ANOMALY_WEEKS = 8
MIN_COMPARABLE = 3
Comparison = Literal["weekday", "daytype"]
COMPARISON: Comparison = "daytype"
"""``weekday``: the same hour of the same weekday (up to 8 values in 8 weeks);
``daytype``: the same hour of weekdays or of weekends (more values, steadier)."""
DAYTYPE_WEEKS = 4

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WEEKDAY_NAMES = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays")
_WEEKEND_NAMES = ("Saturdays", "Sundays")


def _kw(watts: float) -> str:
    return f"{watts / 1000:.2f} kW" if abs(watts) < 10_000 else f"{watts / 1000:.1f} kW"


def _kwh(kwh: float) -> str:
    return f"{kwh:.1f} kWh" if kwh < 100 else f"{kwh:.0f} kWh"


def _miners_running(ctx: RuleContext) -> list[str]:
    on = ctx.state.devices("load_on")
    return [m.name for m in ctx.site.miners if on.get(m.name, 0.0) >= 0.5]


# --- high load (batch) ----------------------------------------------------------------


def high_load(ctx: RuleContext) -> list[Verdict]:
    """Site load above ``high_load_kw`` (None: no verdict); clears 5 % below the limit."""
    rule = "high_load"
    limit_kw = ctx.thresholds.high_load_kw
    load_w = ctx.state.get("load_power_w")
    if limit_kw is None or load_w is None:
        return []
    load_kw = load_w / 1000.0
    is_open = ctx.current(rule) is not None
    clear_at = limit_kw * (1.0 - HIGH_LOAD_HYSTERESIS) if is_open else limit_kw
    if load_kw <= clear_at:
        return [Verdict(rule=rule, active=False, category="load", value=load_kw)]
    miners = _miners_running(ctx)
    summary = f"Site load {load_kw:.2f} kW, above the {limit_kw:g} kW limit."
    pv_w = ctx.state.get("pv_power_w")
    if pv_w is not None:
        summary += f" Solar {pv_w / 1000:.2f} kW."
    if miners:
        summary += f" Miners running: {', '.join(miners)}."
    return [
        Verdict(
            rule=rule,
            active=True,
            severity="warning",
            category="load",
            title=f"High load at {ctx.site.display_name}",
            summary=summary,
            value=load_kw,
            proposed_action="stop_miners" if miners else None,
            evidence=(("load", f"{load_kw:.2f} kW"), ("limit", f"{limit_kw:g} kW")),
        )
    ]


# --- energy today (periodic) ----------------------------------------------------------


def _local_midnight(site: Site, day: date) -> pd.Timestamp:
    naive = pd.Timestamp(day.year, day.month, day.day)
    return naive.tz_localize(site.timezone, nonexistent="shift_forward", ambiguous=True).tz_convert(
        "UTC"
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Today:
    energy_kwh: float
    source: str
    missing_h: float


def _integrate_today(
    history: History, start: pd.Timestamp, now: pd.Timestamp
) -> tuple[float, float]:
    """Consumption [kWh] from ``start`` to ``now`` from hourly means of complete hours and
    raw readings of the current hour; also the hours with no reading at all."""
    hourly = history.hourly_mean("load_power_w")
    complete_end = now.floor("h")
    hours = hourly[(hourly.index >= start) & (hourly.index < complete_end)].dropna()
    energy_wh = float(hours.clip(lower=0.0).sum())
    # hours since midnight that have ended, minus those with a mean
    missing = max(0.0, (complete_end - start) / pd.Timedelta(hours=1) - len(hours))
    raw = history.recent("load_power_w")
    partial_start = max(complete_end, start)
    current = raw[(raw.index >= partial_start) & (raw.index <= now)].dropna()
    elapsed_h = (now - partial_start) / pd.Timedelta(hours=1)
    if len(current):
        energy_wh += float(current.clip(lower=0.0).mean()) * elapsed_h
    elif elapsed_h > 0:
        missing += elapsed_h
    return energy_wh / 1000.0, missing


def _pace_w(history: History, now: pd.Timestamp) -> float | None:
    """Mean load [W] over the last :data:`PACE_HOURS` (hourly means plus raw)."""
    since = now - timedelta(hours=PACE_HOURS)
    raw = history.recent("load_power_w")
    raw = raw[(raw.index > since) & (raw.index <= now)].dropna()
    hourly = history.hourly_mean("load_power_w")
    hourly = hourly[(hourly.index >= since.floor("h")) & (hourly.index < now.floor("h"))].dropna()
    if len(raw) and raw.index[0] - since <= timedelta(minutes=30):
        return float(raw.clip(lower=0.0).mean())
    if len(hourly) or len(raw):
        return float(pd.concat([hourly, raw]).clip(lower=0.0).mean())
    return None


def daily_energy_high(ctx: RuleContext) -> list[Verdict]:
    """Consumption since local midnight above ``daily_energy_kwh_max`` (None: no verdict).

    Uses the device's own ``load_energy_today_kwh`` counter when it was reported
    today, else integrates ``load_power_w`` (hourly means of complete hours plus raw
    readings of the current hour). The summary projects to midnight at the pace of
    the last :data:`PACE_HOURS` hours.
    """
    rule = "daily_energy_high"
    limit = ctx.thresholds.daily_energy_kwh_max
    if limit is None:
        return []
    site = ctx.site
    now = pd.Timestamp(ctx.now).tz_convert("UTC")
    today = now.tz_convert(site.tz).date()
    start = _local_midnight(site, today)
    end = _local_midnight(site, today + timedelta(days=1))
    counter = ctx.state.sample("load_energy_today_kwh")
    history = ctx.history
    if counter is not None and pd.Timestamp(counter.time) >= start:
        used = _Today(energy_kwh=counter.value, source="the meter's today counter", missing_h=0.0)
    elif history is not None:
        energy, missing = _integrate_today(history, start, now)
        used = _Today(energy_kwh=energy, source="load power readings", missing_h=missing)
    else:
        return []
    hours_left = (end - now) / pd.Timedelta(hours=1)
    pace = _pace_w(history, now) if history is not None else None
    projection = used.energy_kwh + (pace or 0.0) / 1000.0 * hours_left
    pace_text = (
        f" At the last {PACE_HOURS} h pace ({_kw(pace)}) about {_kwh(projection)} by midnight."
        if pace is not None
        else ""
    )
    if used.energy_kwh <= limit:
        return [
            Verdict(
                rule=rule,
                active=False,
                category="load",
                value=used.energy_kwh,
                summary=f"{_kwh(used.energy_kwh)} used since midnight (limit {limit:g} kWh)."
                + pace_text,
            )
        ]
    summary = (
        f"{_kwh(used.energy_kwh)} used since local midnight, above the {limit:g} kWh daily "
        f"limit (from {used.source})." + pace_text
    )
    if used.missing_h >= 1:
        summary += f" {used.missing_h:.0f} h without readings are not counted."
    evidence: tuple[tuple[str, str], ...] = (
        ("used today", _kwh(used.energy_kwh)),
        ("limit", f"{limit:g} kWh"),
        ("projected by midnight", _kwh(projection) if pace is not None else "-"),
        ("source", used.source),
    )
    return [
        Verdict(
            rule=rule,
            active=True,
            severity="warning",
            category="load",
            title=f"Daily consumption above {limit:g} kWh at {site.display_name}",
            summary=summary,
            value=used.energy_kwh,
            evidence=evidence,
        )
    ]


# --- consumption anomaly (periodic) ----------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Baseline:
    """The comparable hours of one hour: their ``median`` [W], ``spread`` [W] (1.4826·MAD,
    before the floor) and how many there were, with a description for people."""

    median: float
    spread: float
    count: int
    described_as: str

    def floor(self) -> float:
        return max(SPREAD_FLOOR_W, SPREAD_FLOOR_SHARE * abs(self.median))

    def z(self, value: float) -> float:
        return (value - self.median) / max(self.spread, self.floor())


def hourly_baseline(
    hourly: pd.Series,
    hour: pd.Timestamp,
    tz: str,
    *,
    comparison: Comparison = COMPARISON,
) -> Baseline | None:
    """Median and spread of ``hourly`` (hour-start labels, UTC) at the same local hour as
    ``hour`` on comparable earlier days; None with fewer than :data:`MIN_COMPARABLE`."""
    weeks = ANOMALY_WEEKS if comparison == "weekday" else DAYTYPE_WEEKS
    index = hourly.index
    lo = index.searchsorted(hour - timedelta(weeks=weeks), side="left")
    hi = index.searchsorted(hour, side="left")
    window = hourly.iloc[lo:hi]
    # local wall-clock time as plain numbers: hour of day and weekday (1970-01-01 = Thu)
    wall = window.index.tz_convert(tz).tz_localize(None).as_unit("s").asi8
    hour_of_day = (wall // 3600) % 24
    weekday = (wall // 86400 + 3) % 7
    target = hour.tz_convert(tz)
    same_hour = hour_of_day == target.hour
    if comparison == "weekday":
        mask = same_hour & (weekday == target.weekday())
        names = (*_WEEKDAY_NAMES, *_WEEKEND_NAMES)
        kind = names[target.weekday()]
    else:
        weekend = target.weekday() >= 5
        mask = same_hour & ((weekday >= 5) == weekend)
        kind = "weekend days" if weekend else "weekdays"
    values = window.to_numpy(dtype=np.float64)[mask]
    values = values[~np.isnan(values)]
    if len(values) < MIN_COMPARABLE:
        return None
    median = float(np.median(values))
    mad = float(np.median(np.abs(values - median)))
    return Baseline(
        median=median,
        spread=MAD_SCALE * mad,
        count=len(values),
        described_as=f"median of {len(values)} {kind} at {target:%H}:00",
    )


def consumption_anomaly(ctx: RuleContext) -> list[Verdict]:
    """The last complete hour's mean load far from the site's usual for that hour.

    Active when the robust z-score exceeds :data:`ANOMALY_Z` (stays active down to
    :data:`ANOMALY_Z_CLEAR`); a warning from :data:`ANOMALY_Z_WARNING` upwards, info
    otherwise (and for load lower than usual). No judgement (inactive verdict) without
    a reading for the hour or with fewer than :data:`MIN_COMPARABLE` comparable hours.
    """
    rule = "consumption_anomaly"
    history = ctx.history
    if history is None:
        return []
    site = ctx.site
    now = pd.Timestamp(ctx.now).tz_convert("UTC")
    hour = now.floor("h") - timedelta(hours=1)
    hourly = history.hourly_mean("load_power_w")
    if hour not in hourly.index or pd.isna(hourly.loc[hour]):
        return [Verdict(rule=rule, active=False, category="load", summary="No load data.")]
    value = float(hourly.loc[hour])
    baseline = hourly_baseline(hourly, hour, site.timezone)
    if baseline is None:
        return [
            Verdict(
                rule=rule,
                active=False,
                category="load",
                value=value,
                summary=f"Fewer than {MIN_COMPARABLE} comparable hours of history.",
            )
        ]
    z = baseline.z(value)
    limit = ANOMALY_Z_CLEAR if ctx.current(rule) is not None else ANOMALY_Z
    local = hour.tz_convert(site.tz)
    when = f"{local:%H}:00 {_WEEKDAYS[local.weekday()]} {local:%d %b}"
    spread = max(baseline.spread, baseline.floor())
    if abs(z) <= limit:
        return [
            Verdict(
                rule=rule,
                active=False,
                category="load",
                value=z,
                summary=(
                    f"Load {_kw(value)} at {when}, usual {_kw(baseline.median)} (z = {z:+.1f})."
                ),
            )
        ]
    higher = z > 0
    severity: Severity = "warning" if higher and z >= ANOMALY_Z_WARNING else "info"
    summary = (
        f"Load {_kw(value)} at {when} vs usual {_kw(baseline.median)} "
        f"({baseline.described_as}, typical spread ±{_kw(spread)}): "
        f"{abs(value - baseline.median) / 1000:.2f} kW {'more' if higher else 'less'} than "
        f"usual, {abs(z):.1f} typical spreads away."
    )
    return [
        Verdict(
            rule=rule,
            active=True,
            severity=severity,
            category="load",
            title=(f"Unusually {'high' if higher else 'low'} consumption at {site.display_name}"),
            summary=summary,
            value=z,
            evidence=(
                ("hour", when),
                ("load", _kw(value)),
                ("usual", _kw(baseline.median)),
                ("typical spread", f"±{_kw(spread)}"),
                ("compared with", baseline.described_as),
                ("robust z", f"{z:+.1f}"),
            ),
        )
    ]


RULES: tuple[RuleSpec, ...] = (
    RuleSpec(name="high_load", category="load", fn=high_load, schedule="batch"),
    RuleSpec(name="daily_energy_high", category="load", fn=daily_energy_high, schedule="periodic"),
    RuleSpec(
        name="consumption_anomaly", category="load", fn=consumption_anomaly, schedule="periodic"
    ),
)
